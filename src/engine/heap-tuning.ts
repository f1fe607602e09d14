/**
 * V8 heap settings for a long-running session (`mlkube dev`), measured with bench/flood-alone.ts
 * under a log flood on Node 20 (#15):
 *
 * 1. The young generation is capped at 8 MiB (two semi-spaces of 4 MiB). Its default maximum is
 *    two of 16 MiB on Node 20 and two of 64 MiB on Node 24, and a log flood's lines and the UI's
 *    frames, which survive a scavenge or two, grow it there: resident memory that rarely shrinks
 *    back. Smaller semi-spaces promoted more and came out worse.
 * 2. The old generation may grow 20% past what the last full collection kept. By default V8 lets
 *    a small heap grow up to 4x when collections are cheap; with the young generation capped, the
 *    flood's promoted lines took it from 50 to 110 MB before the next full collection.
 * 3. WebAssembly stays on the baseline compiler (Liftoff). Ink's layout engine (yoga) is
 *    WebAssembly; when the log pane first got busy, V8 optimised its largest function, and that
 *    compilation took 30 MB for a tenth of a second: the session's peak.
 *
 * How they are set: V8 reads `--max-semi-space-size` only when it creates the heap, and the bin's
 * shebang cannot pass a flag portably (`env -S` is missing from BusyBox and coreutils before 8.30).
 * - Where Node can replace its own process image (`process.execve`: Node 22.15+ and 24, not
 *   Windows), the session restarts itself once, before it has started anything, with the flags
 *   on the command line: same pid, same terminal, nothing left behind.
 * - Elsewhere (Node 20) they are set at run time, which works because V8 reads them when it acts:
 *   `--heap-growing-percent` when it sets the next limit after a full collection, `--liftoff-only`
 *   when a module is compiled, and `--semi-space-growth-factor` each time it grows the new space
 *   (`SemiSpaceNewSpace::Grow`: min(maximum, factor x capacity)). The cap is then kept by
 *   allowing growth (V8's default factor, 2) only while a doubling stays within the cap, checked
 *   after every garbage collection. V8 13 (Node 24) raises that factor to at least 2, which is
 *   why it restarts instead.
 * test/unit/heap-tuning.test.ts checks both ways on the Node that runs it (CI: 20 and 24).
 */
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/** Both semi-spaces together. */
export const YOUNG_GENERATION_CAP_BYTES = 8 * 1024 * 1024;

const OLD_GENERATION_GROWING_PERCENT = 20;
const SEMI_SPACE_FLAG = `--max-semi-space-size=${YOUNG_GENERATION_CAP_BYTES / 2 / 1024 / 1024}`;
const RUN_TIME_FLAGS = [`--heap-growing-percent=${OLD_GENERATION_GROWING_PERCENT}`, "--liftoff-only"];
export const START_UP_FLAGS = [SEMI_SPACE_FLAG, ...RUN_TIME_FLAGS];

const V8_DEFAULT_GROWTH_FACTOR = 2;

export function newSpaceBytes(): number | undefined {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size;
}

let growthFactor = V8_DEFAULT_GROWTH_FACTOR;

function setGrowthFactor(next: number): void {
  if (next === growthFactor || newSpaceBytes() === undefined) return; // undefined: a V8 without a semi-space new space
  v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
  growthFactor = next;
}

/** Keeps the young generation within the cap for the rest of the process's life. */
function capYoungGeneration(): void {
  const check = () => setGrowthFactor((newSpaceBytes() ?? 0) * V8_DEFAULT_GROWTH_FACTOR <= YOUNG_GENERATION_CAP_BYTES ? V8_DEFAULT_GROWTH_FACTOR : 1);
  check();
  new PerformanceObserver(check).observe({ entryTypes: ["gc"] });
}

/**
 * Call first, before the session's modules load (Ink compiles yoga's WebAssembly as it loads).
 * Either does not return (the process restarts with the flags), or sets them at run time; then
 * the young generation does not grow until the returned function is called after loading: module
 * evaluation is one long task, the cap's observer only hears of collections after it, and the new
 * space had meanwhile doubled past the cap.
 */
export function tuneHeapForLongSession(): () => void {
  if (process.execArgv.includes(SEMI_SPACE_FLAG)) return () => undefined;
  const withExecve = process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never };
  if (typeof withExecve.execve === "function" && process.platform !== "win32") {
    try {
      withExecve.execve(process.execPath, [process.execPath, ...START_UP_FLAGS, ...process.execArgv, ...process.argv.slice(1)], process.env);
    } catch {
      // execve(2) failed and this process runs on unchanged (Node's documented behaviour): tune it at run time.
    }
  }
  for (const flag of RUN_TIME_FLAGS) v8.setFlagsFromString(flag);
  setGrowthFactor(1);
  return capYoungGeneration;
}
