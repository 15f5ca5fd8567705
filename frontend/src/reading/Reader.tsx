import { useEffect, useRef } from "react";
import type { StoryStream } from "../client/useStoryStream";
import { useReadAloud } from "../common/readAloud";
import { useTypewriter } from "../common/motion";
import { StoryText } from "./StoryText";

export function statusLine(story: StoryStream): string {
  if (story.connection === "reconnecting" && story.status !== "done" && story.status !== "failed") {
    return "Finding the storyteller again...";
  }
  switch (story.status) {
    case "connecting":
      return "The storyteller is thinking...";
    case "queued":
      if (story.queuePosition === 1) return "1 child is before you. Your story is next!";
      return story.queuePosition ? `${story.queuePosition} children are before you` : "Waiting for the storyteller...";
    case "writing":
      if (story.repairing) return "The storyteller is choosing the right words...";
      return story.text ? "The storyteller is writing..." : "The storyteller is thinking...";
    case "checking":
      return "Making sure the story is just right...";
    case "done":
      return "The end of this chapter.";
    case "failed":
      return "";
    default:
      return "";
  }
}

export function friendlyError(story: StoryStream): string | null {
  if (!story.error) return null;
  if (story.error.code === "SAFETY_REJECTED") {
    return "This story did not turn out right, so the storyteller put it away. Let's pick another one!";
  }
  if (story.error.code === "CANCELLED") return "This story was stopped.";
  if (story.error.retryable) return "The storyteller is busy, trying again...";
  return "Something went wrong with this story. Let's pick another one!";
}

export function Reader({
  story,
  title,
  onChoose,
  onHome,
  onRetry,
}: {
  story: StoryStream;
  title: string;
  onChoose: (choice: number) => void;
  onHome: () => void;
  onRetry: () => void;
}) {
  const streaming = story.status !== "done" && story.status !== "failed" && story.status !== "idle";
  const shown = useTypewriter(story.text, false);
  const aloud = useReadAloud(story.text);
  const retried = useRef(0);
  const error = friendlyError(story);

  // A busy storyteller: try again by itself, a few times, after a calm pause.
  useEffect(() => {
    if (story.status !== "failed" || !story.error?.retryable || retried.current >= 3) return;
    const timer = setTimeout(() => {
      retried.current += 1;
      onRetry();
    }, 3000);
    return () => clearTimeout(timer);
  }, [story.status, story.error, onRetry]);

  return (
    <main className="page reader">
      <nav className="toolbar" aria-label="Story">
        <button type="button" onClick={onHome}>
          Back to stories
        </button>
        {aloud.available && story.status === "done" && (
          <button type="button" onClick={aloud.reading ? aloud.stop : aloud.start}>
            {aloud.reading ? "Stop reading aloud" : "Read aloud"}
          </button>
        )}
        {streaming && (
          <button type="button" onClick={() => void story.stop()}>
            Stop this story
          </button>
        )}
      </nav>
      <h1>{story.story?.title ?? title}</h1>
      <div className="progress-area">
        <p className="status" role="status">
          {statusLine(story)}
        </p>
        <progress max={100} value={story.progress} aria-label="Story progress" />
      </div>
      <article className="story" aria-busy={streaming} aria-label="Story text" data-streamed-length={story.text.length}
        data-shown-length={story.status === "done" ? story.text.length : shown.length}>
        <StoryText text={story.status === "done" ? story.text : shown} highlight={aloud.current} />
      </article>
      {error && (
        <div className="notice" role="alert">
          <p>{error}</p>
          {!story.error?.retryable && (
            <button type="button" className="big" onClick={onHome}>
              Pick another story
            </button>
          )}
        </div>
      )}
      {story.status === "done" && story.choices.length > 0 && (
        <section className="choices" aria-labelledby="choice-question">
          <h2 id="choice-question">{story.choiceQuestion || "What should happen next?"}</h2>
          <ul>
            {story.choices.map((choice, index) => (
              <li key={index}>
                <button type="button" className="big choice" onClick={() => onChoose(index + 1)}>
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
