/** How components read the engine: store slices through useSyncExternalStore, never copies. */
import { useStdout } from "ink";
import { createContext, useCallback, useEffect, useState, useSyncExternalStore } from "react";
import type { Store } from "../../engine/store.js";

/**
 * A slice of the store that re-renders the component when it changes. The selector must return
 * a part of the state (immutable, so its identity changes only with its content) or a primitive,
 * never a freshly built object, or every render would look like a change.
 */
export function useStoreState<S, A, T>(store: Store<S, A>, selector: (state: S) => T): T {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const unsubscribe = store.subscribe(onChange);
      return () => {
        unsubscribe();
      };
    },
    [store],
  );
  return useSyncExternalStore(subscribe, () => selector(store.getState()));
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

function subscribeTicks(intervalMs: number, listener: () => void): () => void {
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
