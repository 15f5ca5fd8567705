/** Test doubles: an EventSource the test drives frame by frame, and a scripted API. */
import type { Api } from "../api";
import type { EventSourceLike } from "../stream";
import type { RunRead, StreamTicket, WireEvent } from "../types";

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }

  static reset(): void {
    FakeEventSource.instances = [];
  }

  static get latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error("no EventSource was opened");
    return last;
  }

  get params(): URLSearchParams {
    return new URL(this.url, "http://storystream.test").searchParams;
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.onopen?.(new Event("open"));
  }

  /** One SSE frame: `id:`, `event:` (the data's type) and `data:`. */
  emit(id: number, event: WireEvent): void {
    const message = new MessageEvent<string>(event.type, { data: JSON.stringify(event), lastEventId: String(id) });
    for (const listener of this.listeners.get(event.type) ?? []) listener(message);
  }

  /** The connection drops (or a reconnect is refused): what EventSource reports as `error`. */
  drop(): void {
    this.onerror?.(new Event("error"));
  }
}

export function content(chunk: string, attempt = 1): WireEvent {
  return { type: "content", chunk, attempt };
}

export function runRead(overrides: Partial<RunRead> = {}): RunRead {
  return {
    id: "run1",
    child_id: 1,
    series_id: null,
    theme: "space",
    chapter_number: 1,
    title: "Mia's Space Adventure",
    status: "running",
    gate: "sentence",
    provider: "scripted",
    model: "scripted",
    error_code: null,
    error_message: null,
    created_at: "2026-12-01T12:00:00Z",
    started_at: "2026-12-01T12:00:00Z",
    finished_at: null,
    time_to_first_token_ms: null,
    total_ms: null,
    input_tokens: null,
    output_tokens: null,
    story_id: null,
    stream_url: "/api/v1/runs/run1/stream",
    last_event_id: 3,
    ...overrides,
  };
}

export interface FakeApi {
  api: Pick<Api, "runTicket" | "readRun" | "cancelRun" | "baseUrl">;
  tickets: StreamTicket[];
  cancelled: string[];
  run: RunRead;
}

/** Tickets `t1`, `t2`, ... each valid for `ticketSeconds` from the (fake) clock. */
export function fakeApi(ticketSeconds = 300): FakeApi {
  const fake: FakeApi = {
    tickets: [],
    cancelled: [],
    run: runRead(),
    api: {
      baseUrl: "",
      runTicket: async () => {
        const ticket = {
          ticket: `t${fake.tickets.length + 1}`,
          expires_at: new Date(Date.now() + ticketSeconds * 1000).toISOString(),
        };
        fake.tickets.push(ticket);
        return ticket;
      },
      readRun: async () => fake.run,
      cancelRun: async (runId: string) => {
        fake.cancelled.push(runId);
        return { run_id: runId, status: "cancelling" };
      },
    },
  };
  return fake;
}
