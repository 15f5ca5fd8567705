import { useState, type FormEvent } from "react";
import { ApiError, type Api } from "../client/api";
import type { PairedDevice } from "../common/device";

export function PairScreen({ api, onPaired }: { api: Api; onPaired: (device: PairedDevice) => void }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const claimed = await api.claimPairingCode(code, "reading app");
      onPaired({ token: claimed.token, deviceId: claimed.device.id, child: claimed.child });
    } catch (caught) {
      setError(caught instanceof ApiError ? "That code did not work. Ask a grown-up for a new one." : "We could not reach StoryStream. Try again in a moment.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="page pair">
      <h1>StoryStream</h1>
      <p className="lead">Stories written just for you, while you read.</p>
      <form onSubmit={submit} className="card pair-form">
        <label htmlFor="pairing-code">Pairing code</label>
        <p id="pairing-help" className="hint">A grown-up gets this code in the parent console at /parent.</p>
        <input
          id="pairing-code"
          aria-describedby={error ? "pairing-help pairing-error" : "pairing-help"}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          value={code}
          onChange={(event) => setCode(event.target.value)}
          placeholder="ABCD-EFGH"
          required
        />
        {error && (
          <p id="pairing-error" className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="big" disabled={busy}>
          Pair this device
        </button>
      </form>
      <p>
        <a href="/parent">I am a parent</a>
      </p>
    </main>
  );
}
