/**
 * Keeps the model directory watched for the whole session. Every watcher failure goes through the
 * store (`watch/failed`, a problem with the fix), so the TUI, the plain printer and --json all say
 * it. The kernel's watch limit (ENOSPC, EMFILE: inotify's max_user_watches / max_user_instances)
 * switches to polling at once, which needs no kernel watches. Any other failure closes the watcher
 * and starts a new one with the loop's capped back-off; the new one reports what changed on disk
 * meanwhile, and `watch/restored` says watching is back.
 */
import { isWatchLimit, type ModelWatcher } from "../adapters/watch/watcher.js";
import type { DevAction, ProblemReport } from "../core/dev/state.js";
import { withBackoff, type BackoffOptions } from "./backoff.js";

export interface WatcherStart {
  usePolling: boolean;
  /** The contents the failed watcher had seen, for a restarted one. */
  resumeFrom: ReadonlyMap<string, string> | undefined;
  onError(error: unknown): void;
}

/** A watcher that stayed up this long before failing was not failing repeatedly: the back-off starts over. */
const HEALTHY_MS = 60_000;

/** Resolves once `signal` aborted and the last watcher is closed. */
export async function keepWatching(
  start: (options: WatcherStart) => ModelWatcher,
  dispatch: (action: DevAction) => void,
  options: { signal: AbortSignal; backoff?: Pick<BackoffOptions, "initialMs" | "maxMs" | "sleep" | "now"> | undefined },
): Promise<void> {
  const { signal } = options;
  let usePolling = false;
  let contents: ReadonlyMap<string, string> | undefined;
  let failures = 0;

  /** One watcher (or, after the kernel's limit, its polling successor) until a failure that needs a restart. */
  const watchUntilFailure = () =>
    new Promise<void>((resolve, reject) => {
      let current: ModelWatcher | undefined;
      const closeCurrent = async () => {
        const closing = current;
        current = undefined;
        if (!closing) return;
        contents = closing.contents();
        await closing.close().catch(() => undefined);
      };
      const onAbort = () => void closeCurrent().then(resolve);
      const fail = (watcher: ModelWatcher, error: unknown) => {
        if (watcher !== current) return; // a late error of a watcher already replaced
        void closeCurrent();
        if (signal.aborted) return resolve();
        if (!usePolling && isWatchLimit(error)) {
          usePolling = true;
          dispatch({ type: "watch/failed", polling: true, problem: watchLimitProblem(error) });
          return open();
        }
        signal.removeEventListener("abort", onAbort);
        reject(error);
      };
      const open = () => {
        const watcher = start({ usePolling, resumeFrom: contents, onError: (error) => fail(watcher, error) });
        current = watcher;
        watcher.ready.then(
          () => {
            if (watcher !== current || failures === 0) return;
            failures = 0;
            dispatch({ type: "watch/restored", watching: usePolling ? "polling" : "events" });
          },
          (error: unknown) => fail(watcher, error),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) return resolve();
      open();
    });

  await withBackoff(watchUntilFailure, {
    ...options.backoff,
    signal,
    resetAfterMs: HEALTHY_MS,
    onRetry: (error, _attempt, delayMs) => {
      failures++;
      dispatch({ type: "watch/failed", polling: false, problem: stoppedProblem(error, delayMs) });
    },
  }).catch(() => undefined); // only an abort ends the retries: the session is ending
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}

function watchLimitProblem(error: unknown): ProblemReport {
  return {
    stage: "watch",
    message: `File watching hit the kernel's limit: ${describe(error)}. mlkube now watches by polling, which costs more CPU on large trees.`,
    details: [],
    hint: "Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (and add watch.ignore patterns for big folders); 'mlkube doctor' checks it.",
  };
}

function stoppedProblem(error: unknown, retryInMs: number): ProblemReport {
  return {
    stage: "watch",
    message: `File watching stopped: ${describe(error)}. Trying again in ${Math.round(retryInMs / 1000)} s; changes made meanwhile are picked up then.`,
    details: [],
    hint: "Check that the model directory is still there and readable; press r to rebuild by hand meanwhile.",
  };
}
