/**
 * A reader's story session: starts or joins a run, folds its events into a `StoryState`, and
 * keeps a snapshot (run id, last event id, state) so a page reload resumes the same run after
 * the last event shown, not from the start.
 */
import { ApiError, type Api } from "./api";
import { applyEvent, applyFailure, connecting, IDLE, isActive, type StoryState } from "./story";
import { RunFollower, type Backoff, type ConnectionState, type EventSourceFactory } from "./stream";
import type { StoryParams } from "./types";

export interface Snapshot {
  runId: string;
  streamUrl: string;
  lastEventId: number;
  state: StoryState;
}

export interface ResumeStore {
  load(): Snapshot | null;
  save(snapshot: Snapshot): void;
  clear(): void;
}

/** Snapshots in `localStorage` under `key` (one per child on a device). */
export function localResumeStore(key: string, storage: Storage = localStorage): ResumeStore {
  return {
    load() {
      const raw = storage.getItem(key);
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as Snapshot;
      } catch {
        storage.removeItem(key);
        return null;
      }
    },
    save(snapshot) {
      storage.setItem(key, JSON.stringify(snapshot));
    },
    clear() {
      storage.removeItem(key);
    },
  };
}

export interface SessionOptions {
  api: Api;
  store?: ResumeStore;
  onChange: (state: StoryState) => void;
  onConnection?: (state: ConnectionState) => void;
  eventSource?: EventSourceFactory;
  backoff?: Partial<Backoff>;
  random?: () => number;
}

export class StorySession {
  private readonly options: SessionOptions;
  private follower: RunFollower | null = null;
  private streamUrl = "";
  private lastEventId = 0;
  state: StoryState = IDLE;

  constructor(options: SessionOptions) {
    this.options = options;
  }

  /** `POST /runs`, then follow the new run. */
  async start(params: StoryParams): Promise<void> {
    this.close();
    this.set(connecting(null));
    try {
      const created = await this.options.api.createRun(params);
      this.follow(created.run_id, created.stream_url, 0, connecting(created.run_id));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // 429 (a family's quota) and 503 (a full queue) pass: the same request works later.
      const busy = error instanceof ApiError && (error.status === 429 || error.status === 503);
      this.set({
        ...this.state,
        status: "failed",
        error: { message, code: busy ? "OVERLOADED" : "REFUSED", retryable: busy },
      });
    }
  }

  /** Follow a run that is already going (a second viewer, or this one after a reload). */
  join(runId: string, streamUrl = `/api/v1/runs/${runId}/stream`, lastEventId = 0, state?: StoryState): void {
    this.close();
    this.follow(runId, streamUrl, lastEventId, state ?? connecting(runId));
  }

  /** Resume the stored run, if one was still going; true when it did. */
  resume(): boolean {
    const snapshot = this.options.store?.load();
    if (!snapshot || !isActive(snapshot.state)) return false;
    this.join(snapshot.runId, snapshot.streamUrl, snapshot.lastEventId, snapshot.state);
    return true;
  }

  /** Follow the same run again after the connection was given up, from the last event shown. */
  rejoin(): void {
    const runId = this.state.runId;
    if (runId === null) return;
    const lastEventId = this.lastEventId;
    this.close();
    this.follow(runId, this.streamUrl, lastEventId, { ...this.state, status: "writing", error: null });
  }

  /** Cancel the run (the reader asked to stop). */
  async stop(): Promise<void> {
    await this.follower?.stop();
  }

  /** Stop following without cancelling; the stored snapshot stays for a later resume. */
  close(): void {
    this.follower?.close();
    this.follower = null;
  }

  /** Back to no story at all. */
  clear(): void {
    this.close();
    this.options.store?.clear();
    this.set(IDLE);
  }

  private follow(runId: string, streamUrl: string, lastEventId: number, state: StoryState): void {
    this.streamUrl = streamUrl;
    this.lastEventId = lastEventId;
    this.set(state);
    const follower = new RunFollower({
      api: this.options.api,
      runId,
      streamUrl,
      lastEventId,
      eventSource: this.options.eventSource,
      backoff: this.options.backoff,
      random: this.options.random,
      onConnection: (connection) => this.options.onConnection?.(connection),
      onEvent: (event, id) => {
        this.set(applyEvent(this.state, event), id);
      },
      onFailure: (failure) => this.set(applyFailure(this.state, failure)),
    });
    this.follower = follower;
  }

  private set(state: StoryState, lastEventId?: number): void {
    this.state = state;
    if (lastEventId !== undefined) this.lastEventId = lastEventId;
    const runId = state.runId;
    if (this.options.store && runId !== null) {
      if (isActive(state)) {
        this.options.store.save({
          runId,
          streamUrl: this.streamUrl,
          lastEventId: lastEventId ?? this.follower?.lastEventId ?? 0,
          state,
        });
      } else {
        this.options.store.clear();
      }
    }
    this.options.onChange(state);
  }
}
