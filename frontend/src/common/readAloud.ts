/** Read-aloud with the browser's speech synthesis, sentence by sentence; absent without voices. */
import { useCallback, useEffect, useRef, useState } from "react";

export function sentences(text: string): string[] {
  return text.match(/[^.!?]+[.!?]+["'”’)]*\s*|[^.!?]+$/g) ?? [];
}

export function useReadAloud(text: string) {
  const synth = typeof window !== "undefined" ? window.speechSynthesis : undefined;
  const [available, setAvailable] = useState(() => (synth?.getVoices().length ?? 0) > 0);
  const [current, setCurrent] = useState<number | null>(null);
  const cancelled = useRef(false);

  useEffect(() => {
    if (!synth) return;
    const update = () => setAvailable(synth.getVoices().length > 0);
    synth.addEventListener("voiceschanged", update);
    return () => {
      synth.removeEventListener("voiceschanged", update);
      synth.cancel();
    };
  }, [synth]);

  const stop = useCallback(() => {
    cancelled.current = true;
    synth?.cancel();
    setCurrent(null);
  }, [synth]);

  const start = useCallback(() => {
    if (!synth) return;
    cancelled.current = false;
    synth.cancel();
    const parts = sentences(text);
    const speak = (index: number) => {
      if (cancelled.current || index >= parts.length) {
        setCurrent(null);
        return;
      }
      const utterance = new SpeechSynthesisUtterance(parts[index]);
      utterance.rate = 0.9;
      utterance.onstart = () => setCurrent(index);
      utterance.onend = () => speak(index + 1);
      utterance.onerror = () => setCurrent(null);
      synth.speak(utterance);
    };
    speak(0);
  }, [synth, text]);

  return { available, reading: current !== null, current, start, stop };
}
