/** `useStoryStream`: one hook with the story's status, text, choices and error, and actions. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Api } from "./api";
import { localResumeStore, StorySession, type ResumeStore } from "./session";
import { IDLE, type StoryState } from "./story";
import type { ConnectionState, EventSourceFactory } from "./stream";
import type { StoryParams } from "./types";

export interface UseStoryStreamOptions {
  api: Api;
  /** Where the running story is remembered for a reload; null: not remembered. */
  resumeKey: string | null;
  /** Resume the remembered run on mount (the reading app); false for a watcher. */
  resume?: boolean;
  eventSource?: EventSourceFactory;
}

export interface StoryStream extends StoryState {
  connection: ConnectionState;
  start: (params: StoryParams) => Promise<void>;
  join: (runId: string) => void;
  /** Follow the same run again after the connection was given up. */
  rejoin: () => void;
  stop: () => Promise<void>;
  clear: () => void;
}

export function useStoryStream(options: UseStoryStreamOptions): StoryStream {
  const { api, resumeKey, eventSource } = options;
  const [state, setState] = useState<StoryState>(IDLE);
  const [connection, setConnection] = useState<ConnectionState>("closed");
  const store = useMemo<ResumeStore | undefined>(
    () => (resumeKey ? localResumeStore(resumeKey) : undefined),
    [resumeKey],
  );
  const sessionRef = useRef<StorySession | null>(null);
  const resume = options.resume ?? true;

  useEffect(() => {
    const session = new StorySession({ api, store, onChange: setState, onConnection: setConnection, eventSource });
    sessionRef.current = session;
    if (!(resume && session.resume())) setState(IDLE);
    return () => session.close();
  }, [api, store, eventSource, resume]);

  const start = useCallback((params: StoryParams) => sessionRef.current?.start(params) ?? Promise.resolve(), []);
  const join = useCallback((runId: string) => sessionRef.current?.join(runId), []);
  const rejoin = useCallback(() => sessionRef.current?.rejoin(), []);
  const stop = useCallback(() => sessionRef.current?.stop() ?? Promise.resolve(), []);
  const clear = useCallback(() => sessionRef.current?.clear(), []);

  return { ...state, connection, start, join, rejoin, stop, clear };
}
