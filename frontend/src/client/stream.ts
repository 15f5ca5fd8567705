/**
 * Follows one run's event stream with `EventSource` and a run-scoped ticket.
 *
 * It keeps the last event id and drops any event at or below it (a duplicate). When the
 * connection drops it closes the browser's own reconnect (which would reuse an expired ticket),
 * asks the service whether the run can still be followed, and reconnects with exponential
 * backoff and jitter, minting a fresh ticket when the old one is about to expire (or was
 * refused), and resuming with `?last_event_id=`. `complete` or `error` ends it.
 */
import { ApiError, type Api } from "./api";
import { isTerminal, WIRE_EVENT_TYPES, type RunRead, type StreamTicket, type WireEvent } from "./types";

/** The part of `EventSource` the follower uses, so tests can feed it a fake. */
export interface EventSourceLike {
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}
export type EventSourceFactory = (url: string) => EventSourceLike;

export const browserEventSource: EventSourceFactory = (url) => new EventSource(url);

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** Consecutive failed reconnects before giving up. */
  maxAttempts: number;
}
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 15_000, maxAttempts: 10 };

/** How a follow ended other than by the run's own terminal event. */
export type StreamFailure =
  | { kind: "gave_up"; attempts: number }
  | { kind: "refused"; status: number; detail: string }
  | { kind: "expired"; run: RunRead };

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface FollowOptions {
  api: Pick<Api, "runTicket" | "readRun" | "cancelRun" | "baseUrl">;
  runId: string;
  streamUrl: string;
  /** Resume after this event id (0: from the start). */
  lastEventId?: number;
  onEvent: (event: WireEvent, id: number) => void;
  onFailure?: (failure: StreamFailure) => void;
  onConnection?: (state: ConnectionState) => void;
  eventSource?: EventSourceFactory;
  backoff?: Partial<Backoff>;
  random?: () => number;
  now?: () => number;
  /** Mint a new ticket when the current one expires within this many ms. */
  ticketMarginMs?: number;
  /** Fires the browser's `offline` and `online` events (default: `window`, where there is one). */
  network?: EventTarget | null;
}

/** The delay before reconnect `attempt` (1-based): exponential, capped, with "equal jitter". */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export class RunFollower {
  readonly runId: string;
  private readonly options: FollowOptions;
  private readonly backoff: Backoff;
  private lastId: number;
  private source: EventSourceLike | null = null;
  private ticket: StreamTicket | null = null;
  private ticketRefused = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;
  private readonly network: EventTarget | null;

  constructor(options: FollowOptions) {
    this.options = options;
    this.runId = options.runId;
    this.lastId = options.lastEventId ?? 0;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.network = options.network !== undefined ? options.network : typeof window !== "undefined" ? window : null;
    this.network?.addEventListener("offline", this.wentOffline);
    this.network?.addEventListener("online", this.cameOnline);
    void this.connect();
  }

  // Going offline may leave a dead connection open for minutes: treat it as dropped now.
  private readonly wentOffline = (): void => {
    const source = this.source;
    if (source === null || this.ended) return;
    source.close();
    this.source = null;
    this.scheduleReconnect();
  };

  // Back online: reconnect now rather than at the end of the current backoff.
  private readonly cameOnline = (): void => {
    if (this.timer === null || this.ended) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.attempts = 0;
    void this.reconnect();
  };

  get lastEventId(): number {
    return this.lastId;
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Stop following (the run goes on in the service; `joinRun` picks it up again). */
  close(): void {
    this.end();
  }

  /** Cancel the run itself: only when the reader asks. Its stream then ends with CANCELLED. */
  async stop(): Promise<void> {
    try {
      await this.options.api.cancelRun(this.runId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async freshTicket(): Promise<string> {
    const margin = this.options.ticketMarginMs ?? 15_000;
    const expired = this.ticket === null || Date.parse(this.ticket.expires_at) - margin <= this.now();
    if (expired || this.ticketRefused) {
      this.ticket = await this.options.api.runTicket(this.runId);
      this.ticketRefused = false;
    }
    return (this.ticket as StreamTicket).ticket;
  }

  private async connect(): Promise<void> {
    if (this.ended) return;
    this.options.onConnection?.(this.attempts === 0 ? "connecting" : "reconnecting");
    let ticket: string;
    try {
      ticket = await this.freshTicket();
    } catch (error) {
      this.failedToConnect(error);
      return;
    }
    if (this.ended) return;
    const query = new URLSearchParams({ ticket });
    if (this.lastId > 0) query.set("last_event_id", String(this.lastId));
    const factory = this.options.eventSource ?? browserEventSource;
    const source = factory(`${this.options.api.baseUrl}${this.options.streamUrl}?${query}`);
    this.source = source;
    let opened = false;
    source.onopen = () => {
      opened = true;
      this.attempts = 0;
      this.options.onConnection?.("open");
    };
    const listener = (message: MessageEvent<string>) => this.receive(source, message);
    for (const type of WIRE_EVENT_TYPES) source.addEventListener(type, listener);
    source.onerror = () => {
      source.close();
      if (this.source !== source || this.ended) return;
      this.source = null;
      // Refused before the stream opened: maybe the ticket (expired, or revoked); mint anew.
      if (!opened) this.ticketRefused = true;
      this.scheduleReconnect();
    };
  }

  private receive(source: EventSourceLike, message: MessageEvent<string>): void {
    if (this.source !== source || this.ended) return;
    const id = Number(message.lastEventId);
    if (!Number.isInteger(id) || id <= this.lastId) return; // a duplicate (or no id): drop it
    let event: WireEvent;
    try {
      event = JSON.parse(message.data) as WireEvent;
    } catch {
      return;
    }
    this.lastId = id;
    this.options.onEvent(event, id);
    if (isTerminal(event)) this.end();
  }

  private failedToConnect(error: unknown): void {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
      this.fail({ kind: "refused", status: error.status, detail: error.detail });
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.ended) return;
    this.attempts += 1;
    if (this.attempts > this.backoff.maxAttempts) {
      this.fail({ kind: "gave_up", attempts: this.attempts - 1 });
      return;
    }
    this.options.onConnection?.("reconnecting");
    const delay = backoffDelay(this.attempts, this.backoff, this.options.random ?? Math.random);
    this.timer = setTimeout(() => void this.reconnect(), delay);
  }

  /** Reconnect only while the run can still be followed: the service says so. */
  private async reconnect(): Promise<void> {
    this.timer = null;
    if (this.ended) return;
    let run: RunRead;
    try {
      run = await this.options.api.readRun(this.runId);
    } catch (error) {
      this.failedToConnect(error);
      return;
    }
    if (this.ended) return;
    if (run.last_event_id === null) {
      // The run's events are no longer kept: what it ended as is in `run` (and its story).
      this.fail({ kind: "expired", run });
      return;
    }
    await this.connect();
  }

  private fail(failure: StreamFailure): void {
    if (this.ended) return;
    this.end();
    this.options.onFailure?.(failure);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.network?.removeEventListener("offline", this.wentOffline);
    this.network?.removeEventListener("online", this.cameOnline);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
    this.options.onConnection?.("closed");
  }
}
