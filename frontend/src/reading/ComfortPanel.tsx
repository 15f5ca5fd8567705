import type { Comfort } from "../common/comfort";

export function ComfortPanel({ comfort, onChange }: { comfort: Comfort; onChange: (comfort: Comfort) => void }) {
  return (
    <details className="comfort">
      <summary>Reading comfort</summary>
      <div className="comfort-grid">
        <label>
          Text size
          <select value={comfort.size} onChange={(e) => onChange({ ...comfort, size: e.target.value as Comfort["size"] })}>
            <option value="medium">Medium</option>
            <option value="large">Large</option>
            <option value="huge">Huge</option>
          </select>
        </label>
        <label>
          Line spacing
          <select value={comfort.spacing} onChange={(e) => onChange({ ...comfort, spacing: e.target.value as Comfort["spacing"] })}>
            <option value="normal">Normal</option>
            <option value="relaxed">Relaxed</option>
            <option value="loose">Loose</option>
          </select>
        </label>
        <label>
          Font
          <select value={comfort.font} onChange={(e) => onChange({ ...comfort, font: e.target.value as Comfort["font"] })}>
            <option value="hyperlegible">Atkinson Hyperlegible</option>
            <option value="system">This device's font</option>
          </select>
        </label>
        <label>
          Background
          <select
            value={comfort.background}
            onChange={(e) => onChange({ ...comfort, background: e.target.value as Comfort["background"] })}
          >
            <option value="cream">Cream</option>
            <option value="white">White</option>
            <option value="night">Night</option>
          </select>
        </label>
      </div>
    </details>
  );
}
