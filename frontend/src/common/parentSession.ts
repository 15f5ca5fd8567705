/**
 * A parent's session: the access token in memory only, the refresh token in this tab's session
 * storage (so a reload stays signed in, closing the tab does not). Refresh tokens rotate: each
 * refresh stores the new one. Sign out revokes the session in the service.
 */
import { useCallback, useMemo, useRef, useState } from "react";
import { Api } from "../client/api";
import type { TokenPair } from "../client/types";

const REFRESH_KEY = "storystream.parent.refresh";

export function useParentSession() {
  const access = useRef<string | null>(null);
  const [signedIn, setSignedIn] = useState<boolean>(() => sessionStorage.getItem(REFRESH_KEY) !== null);
  const refreshing = useRef<Promise<boolean> | null>(null);

  const keep = useCallback((pair: TokenPair) => {
    access.current = pair.access_token;
    sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
    setSignedIn(true);
  }, []);

  const forget = useCallback(() => {
    access.current = null;
    sessionStorage.removeItem(REFRESH_KEY);
    setSignedIn(false);
  }, []);

  const api: Api = useMemo(() => {
    const client: Api = new Api({
      token: () => access.current,
      refresh: () => {
        // One refresh at a time: a rotated refresh token must not be used twice.
        refreshing.current ??= (async () => {
          const refreshToken = sessionStorage.getItem(REFRESH_KEY);
          if (!refreshToken) return false;
          try {
            keep(await client.refreshTokens(refreshToken));
            return true;
          } catch {
            forget();
            return false;
          } finally {
            refreshing.current = null;
          }
        })();
        return refreshing.current;
      },
    });
    return client;
  }, [keep, forget]);

  const signIn = useCallback(
    async (email: string, password: string) => keep(await api.login(email, password)),
    [api, keep],
  );
  const signOut = useCallback(async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    forget();
    if (refreshToken) await api.logout(refreshToken).catch(() => undefined);
  }, [api, forget]);

  return { api, signedIn, signIn, signOut };
}
