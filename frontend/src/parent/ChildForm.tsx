import { useState, type FormEvent } from "react";
import { ApiError } from "../client/api";
import type { ChildCreate, ChildRead } from "../client/types";

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/** Create or edit a child's profile and content settings; the service's messages shown inline. */
export function ChildForm({
  child,
  onSave,
  submitLabel,
}: {
  child?: ChildRead;
  onSave: (body: ChildCreate) => Promise<void>;
  submitLabel: string;
}) {
  const prefix = child ? `child-${child.id}` : "new-child";
  const [name, setName] = useState(child?.name ?? "");
  const [age, setAge] = useState(String(child?.age ?? 6));
  const [level, setLevel] = useState(child?.reading_level ?? "");
  const [interests, setInterests] = useState(child?.interests.join(", ") ?? "");
  const [blocked, setBlocked] = useState(child?.blocked_topics.join(", ") ?? "");
  const [peril, setPeril] = useState(child?.allow_mild_peril ?? false);
  const [length, setLength] = useState(child?.story_length ?? "medium");
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await onSave({
        name,
        age: Number(age),
        reading_level: (level || null) as ChildCreate["reading_level"],
        interests: list(interests),
        blocked_topics: list(blocked),
        allow_mild_peril: peril,
        story_length: length as ChildCreate["story_length"],
      });
      setSaved(true);
    } catch (caught) {
      if (caught instanceof ApiError) setError(caught);
    }
  }

  const fieldError = (field: string) => {
    const message = error?.errorFor(field);
    return message ? (
      <span className="error" id={`${prefix}-${field}-error`}>
        {message}
      </span>
    ) : null;
  };
  const described = (field: string) => (error?.errorFor(field) ? `${prefix}-${field}-error` : undefined);

  return (
    <form className="child-form" onSubmit={submit}>
      <label htmlFor={`${prefix}-name`}>Name</label>
      <input id={`${prefix}-name`} value={name} onChange={(e) => setName(e.target.value)} required aria-describedby={described("name")} />
      {fieldError("name")}
      <label htmlFor={`${prefix}-age`}>Age</label>
      <input id={`${prefix}-age`} type="number" min={3} max={12} value={age} onChange={(e) => setAge(e.target.value)} required aria-describedby={described("age")} />
      {fieldError("age")}
      <label htmlFor={`${prefix}-level`}>Reading level</label>
      <select id={`${prefix}-level`} value={level} onChange={(e) => setLevel(e.target.value)}>
        <option value="">From age</option>
        <option value="beginner">Beginner</option>
        <option value="intermediate">Intermediate</option>
        <option value="advanced">Advanced</option>
      </select>
      <label htmlFor={`${prefix}-interests`}>Interests (separated by commas)</label>
      <input id={`${prefix}-interests`} value={interests} onChange={(e) => setInterests(e.target.value)} aria-describedby={described("interests")} />
      {fieldError("interests")}
      <label htmlFor={`${prefix}-blocked`}>Blocked topics (separated by commas)</label>
      <input id={`${prefix}-blocked`} value={blocked} onChange={(e) => setBlocked(e.target.value)} aria-describedby={described("blocked_topics")} />
      {fieldError("blocked_topics")}
      <label className="inline">
        <input type="checkbox" checked={peril} onChange={(e) => setPeril(e.target.checked)} /> Mild peril is fine
      </label>
      <label htmlFor={`${prefix}-length`}>Story length</label>
      <select id={`${prefix}-length`} value={length} onChange={(e) => setLength(e.target.value)}>
        <option value="short">Short</option>
        <option value="medium">Medium</option>
        <option value="long">Long</option>
      </select>
      {error && !error.fieldErrors.length && (
        <p className="error" role="alert">
          {error.detail}
        </p>
      )}
      {saved && child && <p role="status">Saved.</p>}
      <button type="submit">{submitLabel}</button>
    </form>
  );
}
