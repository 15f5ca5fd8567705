import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, type Api } from "../client/api";
import type { ChildRead, ThemeRead } from "../client/types";

export function ThemesPanel({ api, child, onChange }: { api: Api; child: ChildRead; onChange: () => void }) {
  const [themes, setThemes] = useState<ThemeRead[]>([]);
  const [allowed, setAllowed] = useState<string[]>(child.allowed_theme_ids);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);

  useEffect(() => {
    void api.listThemes().then(setThemes);
  }, [api]);
  // This panel owns the switches while it is open: a profile reload arriving after a quick
  // second toggle must not switch the first one back.
  const latest = useRef(child.allowed_theme_ids);
  const saves = useRef(0);
  const queue = useRef<Promise<void>>(Promise.resolve());
  useEffect(() => {
    latest.current = child.allowed_theme_ids;
    setAllowed(child.allowed_theme_ids);
  }, [child.id]);

  async function toggle(themeId: string, on: boolean) {
    const before = latest.current;
    const next = on ? [...before, themeId] : before.filter((id) => id !== themeId);
    latest.current = next;
    setAllowed(next);
    const save = ++saves.current;
    // Saves go one after another, so the service ends with the last one.
    const saving = queue.current.then(() => api.setAllowedThemes(child.id, next));
    queue.current = saving.then(
      () => undefined,
      () => undefined,
    );
    try {
      const saved = await saving;
      if (save !== saves.current) return; // a later toggle is on its way
      latest.current = saved.theme_ids;
      setAllowed(saved.theme_ids);
      setSaveError(null);
      onChange();
    } catch (caught) {
      if (save === saves.current) {
        latest.current = before;
        setAllowed(before);
      }
      setSaveError(caught instanceof ApiError ? caught.detail : "Could not save.");
    }
  }

  async function addTheme(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const theme = await api.createCustomTheme({ title, description });
      setThemes((current) => [...current, theme]);
      setTitle("");
      setDescription("");
    } catch (caught) {
      if (caught instanceof ApiError) setError(caught);
    }
  }

  const suits = (theme: ThemeRead) => theme.min_age <= child.age && child.age <= theme.max_age;
  return (
    <section aria-labelledby="themes-title">
      <h3 id="themes-title">Themes {child.name} may use</h3>
      {saveError && (
        <p className="error" role="alert">
          {saveError}
        </p>
      )}
      <ul className="switches">
        {themes.map((theme) => (
          <li key={theme.id}>
            <label className="inline">
              <input
                type="checkbox"
                role="switch"
                checked={allowed.includes(theme.id)}
                onChange={(event) => void toggle(theme.id, event.target.checked)}
              />
              <span>
                <strong>{theme.title}</strong> (ages {theme.min_age}-{theme.max_age}
                {theme.custom ? ", family theme" : ""}){suits(theme) ? "" : ": not for this age"}
              </span>
            </label>
          </li>
        ))}
      </ul>
      <form onSubmit={addTheme} className="custom-theme">
        <h4>Add a family theme</h4>
        <label htmlFor="theme-title">Theme title</label>
        <input id="theme-title" value={title} onChange={(e) => setTitle(e.target.value)} required aria-describedby={error?.errorFor("title") ? "theme-title-error" : undefined} />
        {error?.errorFor("title") && (
          <span className="error" id="theme-title-error">
            {error.errorFor("title")}
          </span>
        )}
        <label htmlFor="theme-description">What it is about</label>
        <textarea
          id="theme-description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          required
          aria-describedby={error?.errorFor("description") ? "theme-description-error" : undefined}
        />
        {error?.errorFor("description") && (
          <span className="error" id="theme-description-error">
            {error.errorFor("description")}
          </span>
        )}
        {error && !error.fieldErrors.length && (
          <p className="error" role="alert">
            {error.detail}
          </p>
        )}
        <button type="submit">Add theme</button>
      </form>
    </section>
  );
}
