/**
 * Live update of the serving pods: the changed files go into one pod first; only once its server
 * has restarted and answers do the other pods get them, so a broken change never takes down more
 * than the pod it was tried on, and that pod gets its previous files back.
 */
import { LiveUnavailable, UserError } from "../../errors.js";
import { readingExactly, type ExecResult } from "../kube/pod-exec.js";
import type { PodTarget } from "../kube/pod-forward.js";
import type { SupervisorState } from "../docker/dev-layer.js";
import { archiveCopies, copyCommand, COPY_EXIT, parseScriptOutput, restoreCommand, type CopyArchive, type FileCopy } from "./copy-script.js";

/** What the sync needs from the cluster, one pod at a time. */
export interface PodAccess {
  /** Runs COMMAND in the pod's model container (pods/exec), feeding STDIN when given. */
  exec(pod: string, command: string[], stdin?: NodeJS.ReadableStream): Promise<ExecResult>;
  /** Resolves once the pod answers on its port; rejects with the reason when it does not (the server died, the time ran out). */
  waitAnswering(pod: PodTarget): Promise<void>;
  /** The pod's last log lines: the traceback of a server that did not come back. */
  logTail(pod: string): Promise<string[]>;
}

interface SyncPlan {
  copies: FileCopy[];
  /** Container paths of files deleted locally. */
  deletes: string[];
}

interface SyncOptions {
  /** "none": the server reloads by itself; mlkube waits for its new process, then for it to answer. */
  restart: "auto" | "process" | "none";
}

/** Syncs PLAN into every pod, the first alone; returns how each server restarted. */
export async function syncToPods(pods: readonly PodTarget[], plan: SyncPlan, access: PodAccess, options: SyncOptions): Promise<{ restarts: string[] }> {
  const [first, ...others] = pods;
  if (!first) throw new LiveUnavailable("no ready pod to update");
  const archive = await archiveCopies(plan.copies);
  const restarts = [await updatePod(first, plan, archive, access, options)];
  restarts.push(...(await Promise.all(others.map((pod) => updatePod(pod, plan, archive, access, options)))));
  return { restarts };
}

async function updatePod(target: PodTarget, plan: SyncPlan, archive: CopyArchive, access: PodAccess, options: SyncOptions): Promise<string> {
  const restart = options.restart !== "none";
  // One exec copies, checks and restarts (the supervisor, see templates/live). readingExactly
  // ends stdin after the archive: exec protocols before v5 cannot close it.
  const copied = await access.exec(
    target.pod,
    readingExactly(archive.size, copyCommand(plan.copies, plan.deletes, archive.checksums, restart)),
    archive.open(),
  );
  const output = parseScriptOutput(copied.stdout);
  if (copied.exitCode === COPY_EXIT.mismatch) {
    await restore(target, access, { restart: false });
    throw new LiveUnavailable(`after the copy, ${output.differing.join(", ")} in pod ${target.pod} differ from the local files`);
  }
  if (copied.exitCode === COPY_EXIT.noSupervisor) {
    throw new LiveUnavailable(`pod ${target.pod} runs no restart supervisor (it was started from an image without mlkube's dev layer)`);
  }
  if (copied.exitCode === COPY_EXIT.noReload) {
    throw new LiveUnavailable(
      `no new server process started in pod ${target.pod} within 10 s of the copy (restart: none expects the server to reload by itself), so the old code may still be serving`,
    );
  }
  const restartFailure = RESTART_FAILURES[copied.exitCode];
  if (copied.exitCode !== 0 && !restartFailure) throw copyFailure(target.pod, copied);
  try {
    if (restartFailure) throw new Error(restartFailure(copied.stderr.trim()));
    await access.waitAnswering(target);
  } catch (error) {
    if (error instanceof LiveUnavailable || !restart) throw error;
    const traceback = await access.logTail(target.pod).catch(() => []);
    const restored = await restore(target, access, { restart: true }).then(
      () => "Its previous files are back and it answers again.",
      (restoreError: unknown) => `Restoring its previous files failed too (${(restoreError as Error).message}): the next change, or r, rebuilds it.`,
    );
    throw new UserError("sync", `The changed files did not start on pod ${target.pod}: ${(error as Error).message}. ${restored}`, {
      details: traceback,
      hint: "Fix the error shown above and save again; the other pods kept the version that works.",
    });
  }
  return restart ? describeRestart(output.state) : `reloaded by the server itself (new process ${output.reloadedPid ?? "?"})`;
}

/** Exit codes of a restart that did not happen, and what they mean. */
const RESTART_FAILURES: Partial<Record<number, (stderr: string) => string>> = {
  [COPY_EXIT.noSignal]: (stderr) => `the supervisor could not be signalled (${stderr || "kill -HUP 1 failed"})`,
  [COPY_EXIT.noRestart]: () => "the supervisor did not restart the server within 5 s",
};

/** "warm fork in 22 ms", from the supervisor's state after the restart. */
function describeRestart(state: SupervisorState | undefined): string {
  const restart = state?.lastRestart;
  if (!restart) return "restarted";
  if (restart.method === "warm-fork") return `warm fork in ${Math.round(restart.ms)} ms`;
  return `re-exec in ${Math.round(restart.ms)} ms${state.modeReason ? ` (${state.modeReason})` : ""}`;
}

/** The backup the copy script took goes back in; with RESTART the server restarts on it and must answer. */
async function restore(target: PodTarget, access: PodAccess, options: { restart: boolean }): Promise<void> {
  const restored = await access.exec(target.pod, restoreCommand(options.restart));
  if (restored.exitCode !== 0) {
    const said = RESTART_FAILURES[restored.exitCode]?.(restored.stderr.trim()) ?? (restored.stderr.trim() || `exit code ${restored.exitCode}`);
    throw new Error(said);
  }
  if (options.restart) await access.waitAnswering(target);
}

/** A copy that failed says why live update cannot take the change: the loop rebuilds instead. */
function copyFailure(pod: string, result: ExecResult): LiveUnavailable {
  const said = result.stderr.trim().split("\n")[0] ?? "";
  switch (result.exitCode) {
    case COPY_EXIT.noTar:
      return new LiveUnavailable("live update needs tar in the image", true);
    case COPY_EXIT.noChecksum:
      return new LiveUnavailable("live update needs sha256sum in the image", true);
    case COPY_EXIT.noScratch:
      return new LiveUnavailable(`live update cannot write its backup under /tmp in pod ${pod}${said ? ` (${said})` : ""}`, true);
    default:
      return new LiveUnavailable(`copying into pod ${pod} failed${said ? `: ${said}` : ` (exit code ${result.exitCode})`}`);
  }
}
