/**
 * Live update of the serving pods: the changed files go into one pod first; only once its server
 * has restarted and answers do the other pods get them, so a broken change never takes down more
 * than the pod it was tried on, and that pod gets its previous files back.
 */
import { LiveUnavailable, UserError } from "../../errors.js";
import { readingExactly, type ExecResult } from "../kube/pod-exec.js";
import type { PodTarget } from "../kube/pod-forward.js";
import { checksumMismatches, COPY_EXIT, COPY_SCRIPT, localChecksums, packCopies, RESTORE_SCRIPT, type FileCopy } from "./copy-script.js";

/** What the sync needs from the cluster, one pod at a time. */
export interface PodAccess {
  /** Runs COMMAND in the pod's model container (pods/exec), feeding STDIN when given. */
  exec(pod: string, command: string[], stdin?: Buffer): Promise<ExecResult>;
  /** Restarts the server in the pod (the supervisor, see templates/live) and says how: "warm fork in 40 ms". */
  restart(pod: string): Promise<string>;
  /** Resolves once the pod answers on its port; rejects with the reason when it does not (the server died, the time ran out). */
  waitAnswering(pod: PodTarget): Promise<void>;
  /** The pod's last log lines: the traceback of a server that did not come back. */
  logTail(pod: string): Promise<string[]>;
}

export interface SyncPlan {
  copies: FileCopy[];
  /** Container paths of files deleted locally. */
  deletes: string[];
}

export interface SyncOptions {
  /** "none": the server reloads by itself; mlkube only waits for it to answer. */
  restart: "auto" | "process" | "none";
}

/** Syncs PLAN into every pod, the first alone; returns how each server restarted. */
export async function syncToPods(pods: readonly PodTarget[], plan: SyncPlan, access: PodAccess, options: SyncOptions): Promise<{ restarts: string[] }> {
  const [first, ...others] = pods;
  if (!first) throw new LiveUnavailable("no ready pod to update");
  const archive = await packCopies(plan.copies);
  const checksums = await localChecksums(plan.copies);
  const restarts = [await updatePod(first, { plan, archive, checksums }, access, options)];
  restarts.push(...(await Promise.all(others.map((pod) => updatePod(pod, { plan, archive, checksums }, access, options)))));
  return { restarts };
}

interface Payload {
  plan: SyncPlan;
  archive: Buffer;
  checksums: Map<string, string>;
}

async function updatePod(target: PodTarget, payload: Payload, access: PodAccess, options: SyncOptions): Promise<string> {
  const { plan, archive, checksums } = payload;
  // readingExactly ends stdin after the archive: exec protocols before v5 cannot close it.
  const copied = await access.exec(
    target.pod,
    readingExactly(archive.length, ["sh", "-c", COPY_SCRIPT, "sh", String(plan.copies.length), ...plan.copies.map((copy) => copy.remote), ...plan.deletes]),
    archive,
  );
  if (copied.exitCode !== 0) throw copyFailure(target.pod, copied);
  const mismatched = checksumMismatches(checksums, copied.stdout);
  if (mismatched.length > 0) {
    await restore(target, access, options);
    throw new LiveUnavailable(`after the copy, ${mismatched.join(", ")} in pod ${target.pod} differ from the local files`);
  }
  if (options.restart === "none") {
    await access.waitAnswering(target);
    return "reloaded by the server itself";
  }
  try {
    const how = await access.restart(target.pod);
    await access.waitAnswering(target);
    return how;
  } catch (error) {
    if (error instanceof LiveUnavailable) throw error;
    const traceback = await access.logTail(target.pod).catch(() => []);
    const restored = await restore(target, access, options).then(
      () => "Its previous files are back and it answers again.",
      (restoreError: unknown) => `Restoring its previous files failed too (${(restoreError as Error).message}): the next change, or r, rebuilds it.`,
    );
    throw new UserError("sync", `The changed files did not start on pod ${target.pod}: ${(error as Error).message}. ${restored}`, {
      details: traceback,
      hint: "Fix the error shown above and save again; the other pods kept the version that works.",
    });
  }
}

/** The backup the copy script took goes back in, and the server restarts on it. */
async function restore(target: PodTarget, access: PodAccess, options: SyncOptions): Promise<void> {
  const restored = await access.exec(target.pod, ["sh", "-c", RESTORE_SCRIPT]);
  if (restored.exitCode !== 0) throw new Error(restored.stderr.trim() || `exit code ${restored.exitCode}`);
  if (options.restart !== "none") await access.restart(target.pod);
  await access.waitAnswering(target);
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
