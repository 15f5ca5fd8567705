import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import { backoffDelay, DEFAULT_BACKOFF, RunFollower, type StreamFailure } from "./stream";
import { content, FakeEventSource, fakeApi } from "./testing/fakes";
import type { WireEvent } from "./types";

const complete: WireEvent = {
  type: "complete",
  story: {
    id: 7,
    run_id: "run1",
    child_id: 1,
    series_id: 1,
    theme: "space",
    title: "T",
    content: "Once upon a time.",
    choices: ["Fly", "Swim"],
    choice_question: "What next?",
    choices_source: "model",
    chapter_number: 1,
    safety_score: 1,
    content_approved: true,
    vocabulary_level: null,
    readability_grade: null,
    word_count: 4,
    estimated_reading_time: 1,
    educational_elements: [],
    usage: null,
    timings: { time_to_first_token_ms: 10, total_ms: 100 },
  },
};

function follow(extra: Partial<ConstructorParameters<typeof RunFollower>[0]> = {}) {
  const fake = fakeApi();
  const events: [number, WireEvent][] = [];
  const failures: StreamFailure[] = [];
  const follower = new RunFollower({
    api: fake.api,
    runId: "run1",
    streamUrl: "/api/v1/runs/run1/stream",
    eventSource: (url) => new FakeEventSource(url),
    random: () => 0.5,
    onEvent: (event, id) => events.push([id, event]),
    onFailure: (failure) => failures.push(failure),
    ...extra,
  });
  const text = () =>
    events.map(([, event]) => (event.type === "content" ? event.chunk : "")).join("");
  return { fake, events, failures, follower, text };
}

/** Let the follower's pending promises (ticket, run status) settle. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-12-01T12:00:00Z") });
  FakeEventSource.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("backoffDelay", () => {
  it("doubles up to the ceiling, with jitter in the upper half", () => {
    const backoff = { initialMs: 500, maxMs: 4000, maxAttempts: 9 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, backoff, () => 1))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, backoff, () => 0))).toEqual([250, 500, 1000]);
  });
});

describe("RunFollower", () => {
  it("opens the stream with a run ticket and delivers events in order", async () => {
    const { fake, text } = follow();
    await settle();
    const source = FakeEventSource.latest;
    expect(source.url).toBe("/api/v1/runs/run1/stream?ticket=t1");
    expect(fake.tickets).toHaveLength(1);
    source.open();
    source.emit(1, { type: "node", node: "workflow", status: "started", progress: 0, run_id: "run1" });
    source.emit(2, content("Once"));
    source.emit(3, content(" upon"));
    expect(text()).toBe("Once upon");
  });

  it("drops an event whose id it already has", async () => {
    const { events, text } = follow();
    await settle();
    const source = FakeEventSource.latest;
    source.emit(1, content("A"));
    source.emit(2, content("B"));
    source.emit(2, content("B"));
    source.emit(1, content("A"));
    source.emit(3, content("C"));
    expect(text()).toBe("ABC");
    expect(events.map(([id]) => id)).toEqual([1, 2, 3]);
  });

  it("reconnects after a drop with backoff and resumes after the last event, without gap or repeat", async () => {
    const { text, follower } = follow();
    await settle();
    const first = FakeEventSource.latest;
    first.open();
    first.emit(1, content("Once"));
    first.emit(2, content(" upon"));
    first.drop();
    expect(first.closed).toBe(true); // the browser's own reconnect (stale ticket) is stopped
    await vi.advanceTimersByTimeAsync(374);
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // 500 ms ceiling, jitter 0.5: 375 ms
    const second = FakeEventSource.latest;
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(second.params.get("last_event_id")).toBe("2");
    // The service may send the boundary event again; it is dropped.
    second.emit(2, content(" upon"));
    second.emit(3, content(" a time."));
    second.emit(4, complete);
    expect(text()).toBe("Once upon a time.");
    expect(follower.finished).toBe(true);
  });

  it("backs off longer after each failed reconnect and gives up after the last attempt", async () => {
    const { failures } = follow({ backoff: { initialMs: 100, maxMs: 1000, maxAttempts: 3 }, random: () => 1 });
    await settle();
    FakeEventSource.latest.drop();
    const opened: number[] = [];
    for (const wait of [100, 200, 400]) {
      await vi.advanceTimersByTimeAsync(wait - 1);
      opened.push(FakeEventSource.instances.length);
      await vi.advanceTimersByTimeAsync(1);
      opened.push(FakeEventSource.instances.length);
      FakeEventSource.latest.drop();
    }
    expect(opened).toEqual([1, 2, 2, 3, 3, 4]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeEventSource.instances).toHaveLength(4);
    expect(failures).toEqual([{ kind: "gave_up", attempts: 3 }]);
  });

  it("starts counting attempts again once a reconnect opens", async () => {
    follow({ backoff: { initialMs: 100, maxMs: 10_000, maxAttempts: 5 }, random: () => 1 });
    await settle();
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(100);
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(200);
    FakeEventSource.latest.open();
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(100); // back to the first delay
    expect(FakeEventSource.instances).toHaveLength(4);
  });

  it("mints a fresh ticket when the old one has expired, and keeps a valid one", async () => {
    const { fake } = follow();
    await settle();
    FakeEventSource.latest.open();
    FakeEventSource.latest.emit(1, content("A"));
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.initialMs);
    expect(FakeEventSource.latest.params.get("ticket")).toBe("t1"); // still valid: reused
    FakeEventSource.latest.open();
    await vi.advanceTimersByTimeAsync(290_000); // the 300 s ticket is within its 15 s margin
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.initialMs);
    expect(fake.tickets.map((ticket) => ticket.ticket)).toEqual(["t1", "t2"]);
    expect(FakeEventSource.latest.params.get("ticket")).toBe("t2");
    expect(FakeEventSource.latest.params.get("last_event_id")).toBe("1");
  });

  it("mints a fresh ticket when a reconnect was refused before it opened", async () => {
    const { fake } = follow();
    await settle();
    FakeEventSource.latest.open();
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(DEFAULT_BACKOFF.initialMs);
    FakeEventSource.latest.drop(); // e.g. a 401: the ticket was revoked
    await vi.advanceTimersByTimeAsync(2 * DEFAULT_BACKOFF.initialMs);
    expect(fake.tickets.map((ticket) => ticket.ticket)).toEqual(["t1", "t2"]);
    expect(FakeEventSource.latest.params.get("ticket")).toBe("t2");
  });

  it("ends at complete and does not reconnect afterwards", async () => {
    const { follower } = follow();
    await settle();
    const source = FakeEventSource.latest;
    source.emit(1, complete);
    expect(source.closed).toBe(true);
    expect(follower.finished).toBe(true);
    source.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("ends at an error event", async () => {
    const { events, follower } = follow();
    await settle();
    FakeEventSource.latest.emit(1, { type: "error", message: "busy", error_code: "OVERLOADED", retryable: true });
    expect(events.at(-1)?.[1].type).toBe("error");
    expect(follower.finished).toBe(true);
    expect(FakeEventSource.latest.closed).toBe(true);
  });

  it("does not reconnect once the run's events are gone, and says how it ended", async () => {
    const { fake, failures } = follow();
    await settle();
    fake.run = { ...fake.run, status: "completed", story_id: 7, last_event_id: null };
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(failures).toEqual([{ kind: "expired", run: fake.run }]);
  });

  it("stops for good when the service refuses the run", async () => {
    const { fake, failures } = follow();
    await settle();
    fake.api.readRun = async () => {
      throw new ApiError(403, "not for this device", [], null);
    };
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(failures).toEqual([{ kind: "refused", status: 403, detail: "not for this device" }]);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("keeps trying while the service cannot be reached", async () => {
    const { fake } = follow({ backoff: { initialMs: 100, maxMs: 100, maxAttempts: 10 } });
    await settle();
    let offline = true;
    const readRun = fake.api.readRun;
    fake.api.readRun = async (runId) => {
      if (offline) throw new TypeError("Failed to fetch");
      return readRun(runId);
    };
    FakeEventSource.latest.drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeEventSource.instances).toHaveLength(1);
    offline = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it("treats going offline as a drop and reconnects as soon as it is back online", async () => {
    const network = new EventTarget();
    const { text } = follow({ network, backoff: { initialMs: 10_000, maxMs: 10_000, maxAttempts: 5 } });
    await settle();
    const first = FakeEventSource.latest;
    first.open();
    first.emit(1, content("Once"));
    network.dispatchEvent(new Event("offline"));
    expect(first.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeEventSource.instances).toHaveLength(1);
    network.dispatchEvent(new Event("online"));
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest.params.get("last_event_id")).toBe("1");
    FakeEventSource.latest.emit(2, content(" upon"));
    first.emit(2, content(" STALE")); // the closed connection's late frame is ignored
    expect(text()).toBe("Once upon");
  });

  it("resumes from a given last event id", async () => {
    follow({ lastEventId: 41 });
    await settle();
    expect(FakeEventSource.latest.params.get("last_event_id")).toBe("41");
  });

  it("cancels the run only when asked, and close() leaves it running", async () => {
    const { fake, follower } = follow();
    await settle();
    follower.close();
    expect(fake.cancelled).toEqual([]);
    await follower.stop();
    expect(fake.cancelled).toEqual(["run1"]);
  });
});
