/** Reading comfort: text size, line spacing, font and background, kept on the device. */
import { useEffect, useState } from "react";

export interface Comfort {
  size: "medium" | "large" | "huge";
  spacing: "normal" | "relaxed" | "loose";
  font: "hyperlegible" | "system";
  background: "white" | "cream" | "night";
}

const KEY = "storystream.comfort";
const DEFAULT: Comfort = { size: "large", spacing: "relaxed", font: "hyperlegible", background: "cream" };

export const SIZES: Record<Comfort["size"], string> = { medium: "1.25rem", large: "1.5rem", huge: "1.9rem" };
export const SPACINGS: Record<Comfort["spacing"], string> = { normal: "1.5", relaxed: "1.8", loose: "2.1" };

export function useComfort(): [Comfort, (comfort: Comfort) => void] {
  const [comfort, setComfort] = useState<Comfort>(() => {
    try {
      return { ...DEFAULT, ...(JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<Comfort>) };
    } catch {
      return DEFAULT;
    }
  });
  useEffect(() => {
    localStorage.setItem(KEY, JSON.stringify(comfort));
    // CSSOM writes (not style attributes): allowed under the service's strict CSP.
    const root = document.documentElement;
    root.style.setProperty("--reading-size", SIZES[comfort.size]);
    root.style.setProperty("--reading-line-height", SPACINGS[comfort.spacing]);
    root.dataset.font = comfort.font;
    root.dataset.background = comfort.background;
  }, [comfort]);
  return [comfort, setComfort];
}
