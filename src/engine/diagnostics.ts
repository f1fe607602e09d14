/**
 * The process's own view of its resources, for the soak benchmark (issue #15) and for anyone
 * chasing a leak: `MLKUBE_DIAGNOSTICS_MS=N mlkube dev --json` adds a `diagnostics` event every N ms
 * (docs/events.md). Heap, live handles and listeners cannot be read from outside the process
 * (/proc gives only the resident set and the open descriptors). Off by default.
 */
import type { EventEmitter } from "node:events";

export interface DiagnosticsSample {
  heapUsedMb: number;
  /** The V8 heap's reserved size: a resident set that grows while heapUsed does not is either this (young generation sized up) or outside V8. */
  heapTotalMb: number;
  /** Memory V8 objects hold outside the heap (Buffers, WebAssembly memory such as Ink's Yoga). */
  externalMb: number;
  rssMb: number;
  /** `process.getActiveResourcesInfo()` counted by type: sockets, timers, watchers, child processes... */
  activeResources: Record<string, number>;
  /** Listeners on the long-lived emitters and subscribers of the long-lived stores, summed. */
  listeners: number;
}

/** Somewhere listeners pile up if a subscription is never undone. */
type ListenerSource = EventEmitter | { readonly subscriberCount: number };

/** The interval asked for by MLKUBE_DIAGNOSTICS_MS, or undefined (unset, not a positive integer: off). */
export function diagnosticsInterval(env: NodeJS.ProcessEnv): number | undefined {
  const value = Number(env.MLKUBE_DIAGNOSTICS_MS);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

export function countByType(resources: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of resources) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

export function listenerTotal(sources: readonly ListenerSource[]): number {
  let total = 0;
  for (const source of sources) {
    if ("subscriberCount" in source) total += source.subscriberCount;
    else for (const name of source.eventNames()) total += source.listenerCount(name);
  }
  return total;
}

const mb = (bytes: number) => Math.round((bytes / 1024 ** 2) * 10) / 10;

function sampleDiagnostics(sources: readonly ListenerSource[]): DiagnosticsSample {
  const memory = process.memoryUsage();
  return {
    heapUsedMb: mb(memory.heapUsed),
    heapTotalMb: mb(memory.heapTotal),
    externalMb: mb(memory.external),
    rssMb: mb(memory.rss),
    activeResources: countByType(process.getActiveResourcesInfo()),
    listeners: listenerTotal(sources),
  };
}

/** Samples every `intervalMs`; the timer does not keep the process alive. */
export function startDiagnostics(intervalMs: number, sources: readonly ListenerSource[], emit: (sample: DiagnosticsSample) => void): { stop(): void } {
  const timer = setInterval(() => emit(sampleDiagnostics(sources)), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
