// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "./api";
import { FakeEventSource, content } from "./testing/fakes";
import { useStoryStream, type StoryStream } from "./useStoryStream";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean;
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

function fakeFetch(): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    if (url.endsWith("/runs") && init?.method === "POST") {
      return json({ run_id: "run1", stream_url: "/api/v1/runs/run1/stream" }, 201);
    }
    if (url.endsWith("/stream-tickets")) {
      return json({ ticket: "t1", expires_at: new Date(Date.now() + 300_000).toISOString() }, 201);
    }
    return json({ detail: "not found" }, 404);
  };
}

let root: Root;
let latest: StoryStream;
const api = new Api({ token: () => "device-token", fetch: fakeFetch() });
const eventSource = (url: string) => new FakeEventSource(url);

function Probe({ resumeKey }: { resumeKey: string }) {
  latest = useStoryStream({ api, resumeKey, eventSource });
  return null;
}

async function mount() {
  const container = document.createElement("div");
  root = createRoot(container);
  await act(async () => root.render(<Probe resumeKey="storystream.run.1" />));
}

beforeEach(() => {
  FakeEventSource.reset();
  localStorage.clear();
});
afterEach(async () => {
  await act(async () => root.unmount());
});

describe("useStoryStream", () => {
  it("gives status, progress, text and choices as the run streams", async () => {
    await mount();
    expect(latest.status).toBe("idle");
    await act(() => latest.start({ child_id: 1, theme: "space", gate: "sentence" }));
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.latest;
    await act(async () => {
      source.open();
      source.emit(1, { type: "node", node: "generate", status: "queued", progress: 0, position: 2, run_id: "run1" });
    });
    expect([latest.status, latest.queuePosition]).toEqual(["queued", 2]);
    await act(async () => {
      source.emit(2, { type: "node", node: "generate", status: "started", progress: 10 });
      source.emit(3, content("Once upon a time."));
    });
    expect([latest.status, latest.text, latest.progress]).toEqual(["writing", "Once upon a time.", 10]);
    await act(async () => {
      source.emit(4, {
        type: "complete",
        story: {
          id: 9, run_id: "run1", child_id: 1, series_id: 3, theme: "space", title: "T",
          content: "Once upon a time.", choices: ["Fly", "Swim"], choice_question: "What next?",
          choices_source: "model", chapter_number: 1, safety_score: 1, content_approved: true,
          vocabulary_level: null, readability_grade: null, word_count: 4, estimated_reading_time: 1,
          educational_elements: [], usage: null, timings: { time_to_first_token_ms: 1, total_ms: 2 },
        },
      });
    });
    expect([latest.status, latest.progress, latest.choices]).toEqual(["done", 100, ["Fly", "Swim"]]);
    expect(localStorage.getItem("storystream.run.1")).toBeNull();
  });

  it("resumes the remembered run when it mounts again (a reload)", async () => {
    await mount();
    await act(() => latest.start({ child_id: 1, theme: "space", gate: "sentence" }));
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    await act(async () => {
      FakeEventSource.latest.emit(1, { type: "node", node: "workflow", status: "started", progress: 0, run_id: "run1" });
      FakeEventSource.latest.emit(2, content("Hello"));
    });
    await act(async () => root.unmount());
    await mount();
    expect(latest.text).toBe("Hello");
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(2));
    expect(FakeEventSource.latest.params.get("last_event_id")).toBe("2");
  });
});
