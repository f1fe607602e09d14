/**
 * Live update's side (issue #11): `mlkube dev --json` with live update on, on the registry cluster
 * the rebuild iterations just ran on. Code and model edits must take the sync route (files copied
 * into the running pod, server restarted in place); the bench also asks the URL for the version
 * after each, so a fast iteration that left the old code serving does not count.
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DevProcess } from "../test/e2e/support/dev-process.js";
import { mlkubeIteration, startDev, type IterationRecord } from "./loop.js";
import { fingerprint, type ChangeKind, type ModelVariants } from "./workspace.js";

const MODEL_URL = "http://127.0.0.1:30080";

/** How the supervisor restarts the server: `restart: auto` (the default) forks a warm parent, `restart: process` re-executes. */
export type RestartMethod = "warm fork" | "re-exec";
export const RESTART_METHODS: readonly RestartMethod[] = ["warm fork", "re-exec"];
/** The change kinds live update takes; a dependency change always rebuilds. */
export const LIVE_KINDS: readonly ChangeKind[] = ["code", "model"];

export interface LiveRecord extends IterationRecord {
  /** The supervisor's own restart time (signal → new process, before it answers), from the sync stage's detail. */
  restartMs?: number | undefined;
}

export interface LiveRunHooks {
  say: (line: string) => void;
  /** Holds the running process so an interrupted run can stop it. */
  onDev: (dev: DevProcess | undefined) => void;
  checkInterrupted: () => void;
}

/**
 * One `mlkube dev` with live update on: its first iteration builds the dev image (the user's image
 * plus the restart supervisor) and rolls it out, unmeasured; then `counts` edits of each kind.
 * `re-exec` writes `restart: process` into the directory's mlkube.yaml first.
 */
export async function liveRun(
  dir: string,
  method: RestartMethod,
  counts: Partial<Record<ChangeKind, number>>,
  models: ModelVariants,
  label: string,
  hooks: LiveRunHooks,
): Promise<Record<string, LiveRecord[]>> {
  if (method === "re-exec") await appendFile(join(dir, "mlkube.yaml"), "\nrestart: process\n");
  hooks.say(`live (${method}): mlkube dev, first iteration (builds and rolls out the dev image)`);
  const started = await startDev(dir, { live: true });
  hooks.onDev(started.dev);
  try {
    if (started.first.result !== "success") throw new Error(`the first iteration did not succeed (${started.first.result})`);
    const records: Record<string, LiveRecord[]> = {};
    for (const kind of LIVE_KINDS) {
      const iterations = counts[kind] ?? 0;
      records[kind] = [];
      for (let index = 0; index < iterations; index++) {
        hooks.checkInterrupted();
        const record: LiveRecord = await mlkubeIteration(started.dev, dir, kind, `${label}-${kind}-${index}`, models, "sync");
        record.restartMs = restartOf(record.syncDetail)?.ms;
        if (!record.invalid && record.result === "success") record.invalid = restartProblem(record.syncDetail, method) ?? (await staleVersion(dir));
        records[kind].push(record);
        hooks.say(
          `live (${method}) ${kind} #${index + 1}/${iterations}: ${record.totalMs} ms (${record.result}${record.invalid ? `, not counted: ${record.invalid}` : ""}; ${record.syncDetail ?? "no sync"})`,
        );
        await sleep(1_000);
      }
    }
    return records;
  } finally {
    await started.dev.stop();
    hooks.onDev(undefined);
  }
}

/** How the sync stage's detail says the server restarted: "app.py to 1 pod, warm fork in 42 ms". */
export function restartOf(detail: string | undefined): { method: string; ms: number } | undefined {
  const match = /(warm fork|re-exec) in (\d+) ms/.exec(detail ?? "");
  return match ? { method: match[1]!, ms: Number(match[2]) } : undefined;
}

/** A row labelled "warm fork" must hold warm forks only (the supervisor falls back to re-exec when a fork crashes). */
export function restartProblem(detail: string | undefined, method: RestartMethod): string | undefined {
  const seen = restartOf(detail)?.method;
  return seen === method ? undefined : `restarted by ${seen ?? "an unknown method"}, not ${method} (${detail ?? "no sync detail"})`;
}

/** mlkube verified the smoke tests; the bench also checks the URL serves the edited files (GET /version). */
async function staleVersion(dir: string): Promise<string | undefined> {
  const expected = await fingerprint(dir);
  try {
    const answer = await (await fetch(`${MODEL_URL}/version`, { signal: AbortSignal.timeout(5_000) })).text();
    return answer === expected ? undefined : `the URL answered version ${answer.slice(0, 12)}, not the edited files' ${expected.slice(0, 12)}`;
  } catch (error) {
    return `GET /version failed: ${(error as Error).message}`;
  }
}
