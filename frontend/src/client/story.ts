/** What a reader sees of a run, derived from its events by one pure reducer. */
import type { StreamFailure } from "./stream";
import type { CompletedStory, ErrorCode, MetadataEvent, WireEvent } from "./types";

export type StoryStatus = "idle" | "connecting" | "queued" | "writing" | "checking" | "done" | "failed";

export interface StoryError {
  message: string;
  /** The wire error code, or CONNECTION_LOST / REFUSED / EXPIRED for what the client saw. */
  code: ErrorCode | "CONNECTION_LOST" | "REFUSED" | "EXPIRED";
  retryable: boolean;
}

export interface StoryState {
  runId: string | null;
  status: StoryStatus;
  /** Stories ahead of this one while `queued`. */
  queuePosition: number | null;
  /** A held-back sentence is being written again: the text stays, the reader sees a pause. */
  repairing: boolean;
  progress: number;
  text: string;
  attempt: number;
  choices: string[];
  choiceQuestion: string | null;
  metadata: MetadataEvent | null;
  story: CompletedStory | null;
  error: StoryError | null;
}

export const IDLE: StoryState = {
  runId: null,
  status: "idle",
  queuePosition: null,
  repairing: false,
  progress: 0,
  text: "",
  attempt: 1,
  choices: [],
  choiceQuestion: null,
  metadata: null,
  story: null,
  error: null,
};

export function connecting(runId: string | null): StoryState {
  return { ...IDLE, runId, status: "connecting" };
}

export function applyEvent(state: StoryState, event: WireEvent): StoryState {
  switch (event.type) {
    case "node": {
      const next: StoryState = {
        ...state,
        runId: event.run_id ?? state.runId,
        progress: Math.max(state.progress, event.progress),
        repairing: event.status === "repairing",
      };
      if (event.status === "queued") {
        return { ...next, status: "queued", queuePosition: event.position ?? null };
      }
      if (event.node === "safety_check" || event.node === "metrics") {
        return event.status === "started" ? { ...next, status: "checking", queuePosition: null } : next;
      }
      return { ...next, status: state.status === "checking" ? "checking" : "writing", queuePosition: null };
    }
    case "content":
      return {
        ...state,
        status: "writing",
        queuePosition: null,
        repairing: false,
        attempt: event.attempt,
        text: event.attempt === state.attempt ? state.text + event.chunk : event.chunk,
      };
    case "reset":
      return { ...state, text: "", attempt: event.attempt, status: "writing", repairing: false };
    case "metadata":
      return { ...state, metadata: event };
    case "safety":
      return state;
    case "complete":
      return {
        ...state,
        status: "done",
        progress: 100,
        repairing: false,
        queuePosition: null,
        story: event.story,
        // The streamed text is the stored text; a late joiner of an old run may have none.
        text: state.text || event.story.content,
        choices: event.story.choices,
        choiceQuestion: event.story.choice_question,
      };
    case "error":
      return {
        ...state,
        status: "failed",
        repairing: false,
        queuePosition: null,
        // A rejected draft never stays on a child's screen.
        text: event.error_code === "SAFETY_REJECTED" ? "" : state.text,
        error: { message: event.message, code: event.error_code, retryable: event.retryable },
      };
    default:
      return state; // an event type this client does not know yet
  }
}

export function applyFailure(state: StoryState, failure: StreamFailure): StoryState {
  const error: StoryError =
    failure.kind === "gave_up"
      ? { message: "We lost the connection to the storyteller.", code: "CONNECTION_LOST", retryable: true }
      : failure.kind === "refused"
        ? { message: failure.detail, code: "REFUSED", retryable: false }
        : { message: "This story finished while you were away.", code: "EXPIRED", retryable: false };
  return { ...state, status: "failed", repairing: false, error };
}

export function isActive(state: StoryState): boolean {
  return state.status !== "idle" && state.status !== "done" && state.status !== "failed";
}
