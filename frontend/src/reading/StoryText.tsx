import { sentences } from "../common/readAloud";

/** The story's paragraphs; while reading aloud, the sentence being read is marked. */
export function StoryText({ text, highlight }: { text: string; highlight: number | null }) {
  if (highlight === null) {
    return (
      <>
        {text.split(/\n{2,}/).map((paragraph, index) => (
          <p key={index}>{paragraph}</p>
        ))}
      </>
    );
  }
  return (
    <p>
      {sentences(text).map((sentence, index) =>
        index === highlight ? <mark key={index}>{sentence}</mark> : <span key={index}>{sentence}</span>,
      )}
    </p>
  );
}
