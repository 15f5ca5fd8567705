/**
 * The StoryStream client: typed API calls, and runs followed over SSE with resume.
 *
 * - `startChapter(api, params, handlers)`: `POST /runs`, then follow its `stream_url`.
 * - `joinRun(api, runId, handlers)`: follow a run that is already going (a parent watching).
 * - `StorySession` / `useStoryStream`: the same, folded into what a reader sees, with reload
 *   resume.
 */
import type { Api } from "./api";
import { RunFollower, type FollowOptions } from "./stream";
import type { StoryParams } from "./types";

export * from "./api";
export * from "./session";
export * from "./story";
export * from "./stream";
export * from "./types";

export type Handlers = Omit<FollowOptions, "api" | "runId" | "streamUrl">;

export async function startChapter(api: Api, params: StoryParams, handlers: Handlers): Promise<RunFollower> {
  const created = await api.createRun(params);
  return new RunFollower({ ...handlers, api, runId: created.run_id, streamUrl: created.stream_url });
}

export function joinRun(api: Api, runId: string, handlers: Handlers): RunFollower {
  return new RunFollower({ ...handlers, api, runId, streamUrl: `/api/v1/runs/${runId}/stream` });
}
