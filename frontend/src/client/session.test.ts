import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api } from "./api";
import { StorySession, type ResumeStore, type Snapshot } from "./session";
import { applyEvent, IDLE, type StoryState } from "./story";
import { content, FakeEventSource, fakeApi } from "./testing/fakes";

function memoryStore(): ResumeStore & { value: Snapshot | null } {
  return {
    value: null,
    load() {
      return this.value === null ? null : (JSON.parse(JSON.stringify(this.value)) as Snapshot);
    },
    save(snapshot) {
      this.value = JSON.parse(JSON.stringify(snapshot)) as Snapshot;
    },
    clear() {
      this.value = null;
    },
  };
}

function session(store: ResumeStore, createRun: Api["createRun"] = async () => created) {
  const fake = fakeApi();
  const api = { ...fake.api, createRun } as unknown as Api;
  const states: StoryState[] = [];
  const storySession = new StorySession({
    api,
    store,
    onChange: (state) => states.push(state),
    eventSource: (url) => new FakeEventSource(url),
    random: () => 0.5,
  });
  return { storySession, states, fake };
}

const created = { run_id: "run1", stream_url: "/api/v1/runs/run1/stream" };
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-12-01T12:00:00Z") });
  FakeEventSource.reset();
});
afterEach(() => vi.useRealTimers());

describe("applyEvent", () => {
  it("shows the queue, writing, checking, then done with the choices", () => {
    let state = applyEvent(IDLE, { type: "node", node: "generate", status: "queued", progress: 0, position: 2 });
    expect([state.status, state.queuePosition]).toEqual(["queued", 2]);
    state = applyEvent(state, { type: "node", node: "generate", status: "started", progress: 5 });
    expect([state.status, state.queuePosition]).toEqual(["writing", null]);
    state = applyEvent(state, content("Hi."));
    state = applyEvent(state, { type: "node", node: "safety_check", status: "started", progress: 80 });
    expect([state.status, state.progress]).toEqual(["checking", 80]);
    state = applyEvent(state, {
      type: "error",
      message: "The storyteller is busy",
      error_code: "LLM_UNAVAILABLE",
      retryable: true,
    });
    expect(state.status).toBe("failed");
    expect(state.error).toEqual({ message: "The storyteller is busy", code: "LLM_UNAVAILABLE", retryable: true });
    expect(state.text).toBe("Hi.");
  });

  it("clears the shown text at reset, and never keeps a rejected draft", () => {
    let state = applyEvent(IDLE, content("A scary"));
    state = applyEvent(state, { type: "reset", reason: "safety", attempt: 2 });
    expect(state.text).toBe("");
    state = applyEvent(state, content("A kind", 2));
    expect(state.text).toBe("A kind");
    state = applyEvent(state, { type: "error", message: "no", error_code: "SAFETY_REJECTED", retryable: false });
    expect(state.text).toBe("");
  });

  it("ignores event types it does not know", () => {
    const unknown = { type: "sparkle", colour: "gold" } as unknown as Parameters<typeof applyEvent>[1];
    expect(applyEvent(IDLE, unknown)).toBe(IDLE);
  });
});

describe("StorySession", () => {
  it("resumes the same run after a reload, from the last event shown", async () => {
    const store = memoryStore();
    const before = session(store);
    await before.storySession.start({ child_id: 1, theme: "space", gate: "sentence" });
    await settle();
    const first = FakeEventSource.latest;
    first.emit(1, { type: "node", node: "workflow", status: "started", progress: 0, run_id: "run1" });
    first.emit(2, content("Once"));
    first.emit(3, content(" upon"));
    expect(store.value).toMatchObject({ runId: "run1", lastEventId: 3 });
    before.storySession.close(); // the page goes away; the run does not

    const after = session(store);
    expect(after.storySession.resume()).toBe(true);
    expect(after.storySession.state.text).toBe("Once upon");
    await settle();
    const second = FakeEventSource.latest;
    expect(second.url).toContain("/api/v1/runs/run1/stream?");
    expect(second.params.get("last_event_id")).toBe("3");
    second.emit(4, content(" a time."));
    expect(after.storySession.state.text).toBe("Once upon a time.");
    second.emit(5, {
      type: "error",
      message: "stopped",
      error_code: "CANCELLED",
      retryable: false,
    });
    expect(store.value).toBeNull(); // a finished run is not resumed again
    expect(session(store).storySession.resume()).toBe(false);
  });

  it("clears the text when a reset arrives and reports the terminal state", async () => {
    const { storySession } = session(memoryStore());
    await storySession.start({ child_id: 1, theme: "space", gate: "sentence" });
    await settle();
    const source = FakeEventSource.latest;
    source.emit(1, content("First draft."));
    source.emit(2, { type: "reset", reason: "safety", attempt: 2 });
    expect(storySession.state.text).toBe("");
    source.emit(3, content("Second draft.", 2));
    expect(storySession.state.text).toBe("Second draft.");
  });

  it("rejoins the same run after giving up on the connection, without losing the text", async () => {
    const { storySession } = session(memoryStore());
    await storySession.start({ child_id: 1, theme: "space", gate: "sentence" });
    await settle();
    FakeEventSource.latest.emit(1, { type: "node", node: "workflow", status: "started", progress: 0, run_id: "run1" });
    FakeEventSource.latest.emit(2, content("Once"));
    for (let attempt = 0; attempt <= 10; attempt += 1) {
      FakeEventSource.latest.drop();
      await vi.advanceTimersByTimeAsync(20_000);
    }
    expect(storySession.state.error).toMatchObject({ code: "CONNECTION_LOST", retryable: true });
    const opened = FakeEventSource.instances.length;
    storySession.rejoin();
    await settle();
    expect(FakeEventSource.instances).toHaveLength(opened + 1);
    expect(FakeEventSource.latest.params.get("last_event_id")).toBe("2");
    expect([storySession.state.status, storySession.state.text, storySession.state.error]).toEqual(["writing", "Once", null]);
  });

  it("calls a refused start retryable when the service is busy", async () => {
    const { storySession } = session(memoryStore(), async () => {
      throw new ApiError(429, "too many stories this minute", [], 30);
    });
    await storySession.start({ child_id: 1, theme: "space", gate: "sentence" });
    expect(storySession.state.status).toBe("failed");
    expect(storySession.state.error?.retryable).toBe(true);
  });
});
