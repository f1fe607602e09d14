/** How the screen reads the engine: store slices through useSyncExternalStore, never copies. */
import { useStdout } from "ink";
import { createContext, useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { Store } from "../../engine/store.js";

/**
 * Slices of the store, read in one subscription, that re-render the component when one of them
 * changes. The selector returns an object whose values are parts of the state (immutable, so
 * their identity changes only with their content) or primitives, never freshly built objects; the
 * object it returns is kept while every value is the same, so an unrelated change renders nothing.
 */
export function useStoreSlices<S, A, T extends Record<string, unknown>>(store: Store<S, A>, selector: (state: S) => T): T {
  const last = useRef<T | undefined>(undefined);
  const subscribe = useCallback(
    (onChange: () => void) => {
      const unsubscribe = store.subscribe(onChange);
      return () => {
        unsubscribe();
      };
    },
    [store],
  );
  return useSyncExternalStore(subscribe, () => {
    const next = selector(store.getState());
    if (last.current && sameValues(last.current, next)) return last.current;
    last.current = next;
    return next;
  });
}

function sameValues<T extends Record<string, unknown>>(a: T, b: T): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}

interface TerminalSize {
  columns: number;
  rows: number;
}

/** The terminal's size, updated on resize; 80x24 when the output is not a terminal. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState<TerminalSize>(() => sizeOf(stdout));
  useEffect(() => {
    const onResize = () =>
      setSize((previous) => {
        const next = sizeOf(stdout);
        return next.columns === previous.columns && next.rows === previous.rows ? previous : next;
      });
    // A resize between the first render and this effect would otherwise go unnoticed.
    onResize();
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

/**
 * The screen's clock: spinners, running clocks and the log pane's check for new lines all run on
 * it, so what changes together is drawn in one frame. Each frame redraws the whole screen (Ink),
 * so two unsynchronised 100 ms timers drew up to 20 frames a second during an iteration.
 */
export const TICK_MS = 100;

/**
 * A counter that advances every `intervalMs` while `active`: drives spinners and running clocks.
 * Every component ticking at the same interval shares one timer, so a spinner and a clock on
 * screen together change in one frame rather than two.
 */
export function useTicker(intervalMs: number, active: boolean): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    return subscribeTicks(intervalMs, () => setTick((value) => value + 1));
  }, [intervalMs, active]);
  return tick;
}

const tickers = new Map<number, { timer: ReturnType<typeof setInterval>; listeners: Set<() => void> }>();

/** Calls `listener` on the shared timer of `intervalMs` (see useTicker); returns the unsubscribe. */
export function subscribeTicks(intervalMs: number, listener: () => void): () => void {
  let ticker = tickers.get(intervalMs);
  if (!ticker) {
    const listeners = new Set<() => void>();
    ticker = { listeners, timer: setInterval(() => listeners.forEach((notify) => notify()), intervalMs) };
    tickers.set(intervalMs, ticker);
  }
  ticker.listeners.add(listener);
  return () => {
    ticker.listeners.delete(listener);
    if (ticker.listeners.size > 0) return;
    clearInterval(ticker.timer);
    tickers.delete(intervalMs);
  };
}

/** The clock running times are measured with; tests pin it. */
export const ClockContext = createContext<() => number>(() => Date.now());
