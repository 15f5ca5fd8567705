import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../client/api";
import type { SeriesRead, StoryParams, ThemeRead } from "../client/types";
import { useStoryStream } from "../client/useStoryStream";
import { useComfort } from "../common/comfort";
import { useDevice } from "../common/device";
import { navigate, usePath } from "../common/navigation";
import { Library } from "../library/Library";
import { ComfortPanel } from "./ComfortPanel";
import { PairScreen } from "./PairScreen";
import { Reader } from "./Reader";

const THEME_PICTURES: Record<string, string> = {
  space: "🚀",
  ocean: "🐠",
  dinosaurs: "🦕",
  friendship: "🤝",
  forest_animals: "🦊",
  magic_garden: "🌷",
  pirates: "🏴‍☠️",
  robots: "🤖",
  weather: "🌈",
  bedtime: "🌙",
  farm: "🐄",
  superheroes: "🦸",
  music: "🎵",
  seasons: "🍂",
};

export function themePicture(themeId: string): string {
  return THEME_PICTURES[themeId] ?? "📖";
}

export function ReadingApp() {
  const { device, api, pair, unpair, updateChild } = useDevice();
  const path = usePath();
  const [comfort, setComfort] = useComfort();
  const childId = device?.child.id ?? 0;
  const story = useStoryStream({ api, resumeKey: device ? `storystream.run.${childId}` : null });
  const [themes, setThemes] = useState<ThemeRead[]>([]);
  const [series, setSeries] = useState<SeriesRead[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const lastParams = useRef<StoryParams | null>(null);
  const reading = story.status !== "idle";

  useEffect(() => {
    if (!device || reading) return;
    let live = true;
    (async () => {
      try {
        const child = await api.readChild(device.child.id);
        const [catalogue, seriesPage] = await Promise.all([api.listThemes(child.age), api.listSeries(child.id)]);
        if (!live) return;
        updateChild(child);
        setThemes(catalogue.filter((theme) => child.allowed_theme_ids.includes(theme.id)));
        setSeries(seriesPage.items.filter((item) => item.chapters > 0));
        setLoadError(null);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) unpair();
        else if (live) setLoadError("We could not reach StoryStream. Try again in a moment.");
      }
    })();
    return () => {
      live = false;
    };
  }, [api, device?.child.id, reading, unpair, updateChild]);

  const begin = useCallback(
    (params: StoryParams, storyTitle: string) => {
      lastParams.current = params;
      setTitle(storyTitle);
      navigate("/");
      void story.start(params);
    },
    [story],
  );

  if (!device) return <PairScreen api={api} onPaired={pair} />;

  if (reading) {
    return (
      <>
        <ComfortPanel comfort={comfort} onChange={setComfort} />
        <Reader
          story={story}
          title={title}
          onHome={() => story.clear()}
          onRetry={() => {
            // A lost connection: the run may still be going, so follow it again; a busy
            // storyteller: the same request again.
            if (story.error?.code === "CONNECTION_LOST") story.rejoin();
            else if (lastParams.current) void story.start(lastParams.current);
          }}
          onChoose={(choice) => {
            const done = story.story;
            if (!done?.series_id) return;
            begin({ child_id: childId, series_id: done.series_id, choice, gate: "sentence" }, done.title);
          }}
        />
      </>
    );
  }

  if (path.startsWith("/library")) {
    return (
      <Library
        api={api}
        childId={childId}
        onHome={() => navigate("/")}
        onContinue={(item, choice) =>
          begin({ child_id: childId, series_id: item.series_id ?? undefined, choice, gate: "sentence" }, item.title)
        }
      />
    );
  }

  return (
    <main className="page home">
      <header className="home-header">
        <h1>Hello, {device.child.name}!</h1>
        <nav aria-label="Reading app">
          <a
            href="/library"
            onClick={(event) => {
              event.preventDefault();
              navigate("/library");
            }}
          >
            My library
          </a>
        </nav>
      </header>
      <ComfortPanel comfort={comfort} onChange={setComfort} />
      {loadError && (
        <p className="error" role="alert">
          {loadError}
        </p>
      )}
      {series.length > 0 && (
        <section aria-labelledby="continue-heading">
          <h2 id="continue-heading">Continue a story</h2>
          <ul className="cards">
            {series.slice(0, 4).map((item) => (
              <li key={item.id}>
                <button type="button" className="card theme-card" onClick={() => navigate(`/library/series/${item.id}`)}>
                  <span className="picture" aria-hidden="true">
                    {themePicture(item.theme)}
                  </span>
                  <span className="card-title">{item.title}</span>
                  <span className="card-text">
                    {item.chapters} {item.chapters === 1 ? "chapter" : "chapters"}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="themes-heading">
        <h2 id="themes-heading">Pick a story</h2>
        {themes.length === 0 && !loadError && <p>A grown-up can choose stories for you in the parent console.</p>}
        <ul className="cards">
          {themes.map((theme) => (
            <li key={theme.id}>
              <button
                type="button"
                className="card theme-card"
                onClick={() => begin({ child_id: childId, theme: theme.id, gate: "sentence" }, theme.title)}
              >
                <span className="picture" aria-hidden="true">
                  {themePicture(theme.id)}
                </span>
                <span className="card-title">{theme.title}</span>
                <span className="card-text">{theme.description}</span>
              </button>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
