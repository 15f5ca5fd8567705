/** The child's paired device: its token and profile, in local storage (never in a URL). */
import { useCallback, useMemo, useState } from "react";
import { Api } from "../client/api";
import type { ChildRead } from "../client/types";

const KEY = "storystream.device";

export interface PairedDevice {
  token: string;
  deviceId: string;
  child: ChildRead;
}

function load(): PairedDevice | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as PairedDevice) : null;
  } catch {
    return null;
  }
}

export function useDevice() {
  const [device, setDevice] = useState<PairedDevice | null>(load);
  const api = useMemo(() => new Api({ token: () => load()?.token ?? null }), []);
  const pair = useCallback((paired: PairedDevice) => {
    localStorage.setItem(KEY, JSON.stringify(paired));
    setDevice(paired);
  }, []);
  const unpair = useCallback(() => {
    localStorage.removeItem(KEY);
    setDevice(null);
  }, []);
  const updateChild = useCallback((child: ChildRead) => {
    const current = load();
    if (current) pair({ ...current, child });
  }, [pair]);
  return { device, api, pair, unpair, updateChild };
}
