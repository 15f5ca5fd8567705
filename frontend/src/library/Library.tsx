import { useEffect, useState } from "react";
import type { Api } from "../client/api";
import type { SeriesDetail, SeriesRead, StoryRead, StorySummary } from "../client/types";
import { navigate, usePath } from "../common/navigation";
import { StoryText } from "../reading/StoryText";

/** The child's library: series, chapters (approved only: the service filters), favourites. */
export function Library({
  api,
  childId,
  onHome,
  onContinue,
}: {
  api: Api;
  childId: number;
  onHome: () => void;
  onContinue: (chapter: StoryRead, choice: number) => void;
}) {
  const path = usePath();
  const seriesMatch = /^\/library\/series\/(\d+)/.exec(path);
  const storyMatch = /^\/library\/story\/(\d+)/.exec(path);
  const [series, setSeries] = useState<SeriesRead[]>([]);
  const [favourites, setFavourites] = useState<StorySummary[]>([]);

  useEffect(() => {
    void api.listSeries(childId).then((page) => setSeries(page.items.filter((item) => item.chapters > 0)));
    void api.listStories(childId, true).then((page) => setFavourites(page.items));
  }, [api, childId, path]);

  if (storyMatch) return <Chapter api={api} storyId={Number(storyMatch[1])} onContinue={onContinue} />;
  if (seriesMatch) return <Series api={api} seriesId={Number(seriesMatch[1])} />;

  return (
    <main className="page library">
      <nav className="toolbar" aria-label="Library">
        <button type="button" onClick={onHome}>
          Back to stories
        </button>
      </nav>
      <h1>My library</h1>
      <section aria-labelledby="series-heading">
        <h2 id="series-heading">My stories</h2>
        {series.length === 0 && <p>No stories yet. Pick one to start!</p>}
        <ul className="list">
          {series.map((item) => (
            <li key={item.id}>
              <a href={`/library/series/${item.id}`} onClick={(event) => go(event, `/library/series/${item.id}`)}>
                {item.title}
              </a>{" "}
              ({item.chapters} {item.chapters === 1 ? "chapter" : "chapters"})
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="favourites-heading">
        <h2 id="favourites-heading">Favourites</h2>
        {favourites.length === 0 && <p>Mark a chapter as a favourite to find it here.</p>}
        <ul className="list">
          {favourites.map((item) => (
            <li key={item.id}>
              <a href={`/library/story/${item.id}`} onClick={(event) => go(event, `/library/story/${item.id}`)}>
                {item.title}, chapter {item.chapter_number}
              </a>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

function go(event: React.MouseEvent, path: string) {
  event.preventDefault();
  navigate(path);
}

function Series({ api, seriesId }: { api: Api; seriesId: number }) {
  const [detail, setDetail] = useState<SeriesDetail | null>(null);
  useEffect(() => {
    void api.readSeries(seriesId).then(setDetail);
  }, [api, seriesId]);
  return (
    <main className="page library">
      <nav className="toolbar" aria-label="Library">
        <button type="button" onClick={() => navigate("/library")}>
          Back to my library
        </button>
      </nav>
      <h1>{detail?.title ?? "Story"}</h1>
      <ol className="list">
        {detail?.chapter_list.map((chapter) => (
          <li key={chapter.id}>
            <a href={`/library/story/${chapter.id}`} onClick={(event) => go(event, `/library/story/${chapter.id}`)}>
              Chapter {chapter.chapter_number}
            </a>
            {chapter.read_at ? " (read)" : ""}
            {chapter.favourite ? " ★" : ""}
          </li>
        ))}
      </ol>
    </main>
  );
}

function Chapter({
  api,
  storyId,
  onContinue,
}: {
  api: Api;
  storyId: number;
  onContinue: (chapter: StoryRead, choice: number) => void;
}) {
  const [story, setStory] = useState<StoryRead | null>(null);
  useEffect(() => {
    void api.readStory(storyId).then(setStory);
  }, [api, storyId]);
  if (!story) return <main className="page" aria-busy="true" />;
  return (
    <main className="page reader">
      <nav className="toolbar" aria-label="Chapter">
        <button type="button" onClick={() => navigate(story.series_id ? `/library/series/${story.series_id}` : "/library")}>
          Back
        </button>
        <button type="button" aria-pressed={story.favourite} onClick={() => void api.setFavourite(story.id, !story.favourite).then(setStory)}>
          {story.favourite ? "★ Favourite" : "☆ Make favourite"}
        </button>
        <button type="button" disabled={story.read_at !== null} onClick={() => void api.markRead(story.id).then(setStory)}>
          {story.read_at ? "Read ✓" : "Mark as read"}
        </button>
      </nav>
      <h1>
        {story.title}, chapter {story.chapter_number}
      </h1>
      <article className="story" aria-label="Story text">
        <StoryText text={story.content} highlight={null} />
      </article>
      {story.choices.length > 0 && story.chosen_choice === null && (
        <section className="choices" aria-labelledby="choice-question">
          <h2 id="choice-question">{story.choice_question || "What should happen next?"}</h2>
          <ul>
            {story.choices.map((choice, index) => (
              <li key={index}>
                <button type="button" className="big choice" onClick={() => onContinue(story, index + 1)}>
                  {choice}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
