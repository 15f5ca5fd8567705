import { useEffect, useRef, useState } from "react";

export function usePrefersReducedMotion(): boolean {
  const query = "(prefers-reduced-motion: reduce)";
  const [reduced, setReduced] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const media = window.matchMedia(query);
    const update = () => setReduced(media.matches);
    media.addEventListener("change", update);
    return () => media.removeEventListener("change", update);
  }, []);
  return reduced;
}

/**
 * The released text revealed at reading pace (a typewriter over what the service let through),
 * catching up faster when far behind; all at once under reduced motion or when `instant`.
 */
export function useTypewriter(text: string, instant: boolean): string {
  const reduced = usePrefersReducedMotion();
  const [shown, setShown] = useState(instant || reduced ? text.length : 0);
  const shownRef = useRef(shown);
  shownRef.current = shown;

  useEffect(() => {
    if (instant || reduced || text.length < shownRef.current) {
      setShown(text.length); // a reset, or no animation wanted
      return;
    }
    let frame = 0;
    let last = performance.now();
    const step = (now: number) => {
      const behind = text.length - shownRef.current;
      if (behind <= 0) return;
      const perSecond = Math.max(45, behind * 1.5);
      const add = Math.max(1, Math.floor(((now - last) / 1000) * perSecond));
      last = now;
      setShown((current) => Math.min(text.length, current + add));
      frame = requestAnimationFrame(step);
    };
    frame = requestAnimationFrame(step);
    return () => cancelAnimationFrame(frame);
  }, [text, instant, reduced]);

  return text.slice(0, Math.min(shown, text.length));
}
