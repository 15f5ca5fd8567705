import { useEffect, useState } from "react";
import type { Api } from "../client/api";
import type { ChildRead, Schemas, StoryRead, StorySummary } from "../client/types";
import { useStoryStream } from "../client/useStoryStream";

/** Every chapter with its safety verdict and reading fit; rejected drafts marked. */
export function LibraryReview({ api, child }: { api: Api; child: ChildRead }) {
  const [stories, setStories] = useState<StorySummary[]>([]);
  const [open, setOpen] = useState<StoryRead | null>(null);
  useEffect(() => {
    void api.listStories(child.id).then((page) => setStories(page.items));
  }, [api, child.id]);

  return (
    <section aria-labelledby="review-title">
      <h3 id="review-title">{child.name}'s library</h3>
      {stories.length === 0 && <p>No chapters yet.</p>}
      <table className="review">
        <thead>
          <tr>
            <th scope="col">Chapter</th>
            <th scope="col">Safety</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {stories.map((story) => (
            <tr key={story.id}>
              <td>
                {story.title}, chapter {story.chapter_number}
              </td>
              <td>{story.content_approved ? "Approved" : <strong className="rejected">Failed the safety check: never shown to {child.name}</strong>}</td>
              <td>
                <button type="button" onClick={() => void api.readStory(story.id).then(setOpen)}>
                  Review chapter {story.chapter_number} of {story.title}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <ChapterReview story={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

function ChapterReview({ story, onClose }: { story: StoryRead; onClose: () => void }) {
  const categories = [...new Set(story.safety_issues.map((issue) => String(issue.category ?? "")))].filter(Boolean);
  return (
    <article className="card chapter-review" aria-labelledby="chapter-review-title">
      <h4 id="chapter-review-title">
        {story.title}, chapter {story.chapter_number}
      </h4>
      <dl>
        <dt>Safety</dt>
        <dd>
          {story.content_approved ? "Approved" : "Rejected"} (score {story.safety_score.toFixed(2)})
          {categories.length > 0 && `: ${categories.join(", ")}`}
        </dd>
        <dt>Readability</dt>
        <dd>{story.readability_grade === null ? "not measured" : `grade ${story.readability_grade.toFixed(1)}`}</dd>
        <dt>Reading time</dt>
        <dd>{story.estimated_reading_time === null ? "not measured" : `${story.estimated_reading_time.toFixed(1)} min`}</dd>
        <dt>Words</dt>
        <dd>{story.word_count ?? "not measured"}</dd>
      </dl>
      <p className="draft">{story.content}</p>
      <button type="button" onClick={onClose}>
        Close review
      </button>
    </article>
  );
}

/** A parent watching a child's story as it is written (a second viewer of the same run). */
export function WatchLive({ api, child }: { api: Api; child: ChildRead }) {
  const [runs, setRuns] = useState<Schemas["RunSummary"][]>([]);
  const stream = useStoryStream({ api, resumeKey: null, resume: false });
  useEffect(() => {
    const load = () => void api.listRuns(child.id, true).then(setRuns).catch(() => undefined);
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [api, child.id]);
  const watching = stream.status !== "idle";
  return (
    <section aria-labelledby="live-title">
      <h3 id="live-title">Watch live</h3>
      {runs.length === 0 && !watching && <p>{child.name} is not reading a new story right now.</p>}
      <ul className="list">
        {runs.map((run) => (
          <li key={run.id}>
            {run.title}, chapter {run.chapter_number}{" "}
            <button type="button" onClick={() => stream.join(run.id)}>
              Watch {run.title}
            </button>
          </li>
        ))}
      </ul>
      {watching && (
        <div className="card live">
          <p role="status">{stream.status === "done" ? "Finished." : stream.status === "failed" ? stream.error?.message : "Being written..."}</p>
          <progress max={100} value={stream.progress} aria-label="Live story progress" />
          <p className="live-text" aria-busy={stream.status !== "done" && stream.status !== "failed"} aria-label="Live story text">
            {stream.text}
          </p>
          <button type="button" onClick={() => void stream.stop()} disabled={stream.status === "done" || stream.status === "failed"}>
            Stop this story
          </button>
        </div>
      )}
    </section>
  );
}
