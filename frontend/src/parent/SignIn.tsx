import { useState, type FormEvent } from "react";
import { ApiError, type Api } from "../client/api";

export function SignIn({ api, onSignIn }: { api: Api; onSignIn: (email: string, password: string) => Promise<void> }) {
  const [mode, setMode] = useState<"in" | "up">("in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "up") await api.register(email, password);
      await onSignIn(email, password);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.detail : "StoryStream cannot be reached.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="page console-auth">
      <h1>StoryStream for parents</h1>
      <form className="card" onSubmit={submit} aria-labelledby="auth-heading">
        <h2 id="auth-heading">{mode === "in" ? "Sign in" : "Create an account"}</h2>
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete={mode === "in" ? "current-password" : "new-password"}
          minLength={mode === "up" ? 12 : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === "in" ? "Sign in" : "Create account"}
        </button>
      </form>
      <p>
        {mode === "in" ? "New to StoryStream? " : "Already have an account? "}
        <button type="button" className="link" onClick={() => setMode(mode === "in" ? "up" : "in")}>
          {mode === "in" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
    </main>
  );
}
