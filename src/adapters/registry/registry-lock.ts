/**
 * Pushes and garbage collection must not overlap: the registry's garbage collector deletes every
 * blob no manifest references, so a layer uploaded by a push whose manifest is not written yet
 * would be deleted under it (distribution's docs/garbage-collection.md: run it read-only or with no
 * uploads). Every mlkube process on this machine takes part, through files in
 * $MLKUBE_HOME/registry/<host>:
 * - a push writes its own `push-<pid>-<n>` marker first, then looks for the `gc` lock; if a live
 *   collector holds it, the push withdraws its marker and waits;
 * - a collection creates the `gc` directory (atomic), then looks for live push markers; if there
 *   are any, it releases the lock and does not run (the next pass tries again).
 * Whichever step comes second sees the other, so the two never run together. A marker or lock
 * whose process is gone is stale and ignored. Pushes by other tools are not covered: said in
 * docs/configuration.md.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const WAIT_STEP_MS = 100;
/** On the global timer: tests fake it (a binding imported from node:timers/promises stays real). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A lock without its pid this long after it was made belongs to a process that died in between. */
const PIDLESS_LOCK_STALE_MS = 5_000;
let markerCount = 0;

export function registryLockDir(host: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MLKUBE_HOME ?? join(homedir(), ".mlkube"), "registry", host.replace(/[^A-Za-z0-9.-]/g, "_"));
}

/** Runs a push with this process's marker in place, after any running collection has finished. */
export async function whilePushing<T>(dir: string, push: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, `push-${process.pid}-${++markerCount}`);
  for (;;) {
    writeFileSync(marker, String(process.pid));
    if (!collectorRunning(dir)) break;
    rmSync(marker, { force: true });
    signal?.throwIfAborted();
    await sleep(WAIT_STEP_MS);
  }
  try {
    return await push();
  } finally {
    rmSync(marker, { force: true });
  }
}

/** Runs `collect` only when no push is under way; undefined when one was, or another collection runs. */
export async function unlessPushing<T>(dir: string, collect: () => Promise<T>): Promise<T | undefined> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "gc");
  try {
    mkdirSync(lock);
  } catch {
    if (collectorRunning(dir)) return undefined;
    rmSync(lock, { recursive: true, force: true }); // left by a process that died
    return unlessPushing(dir, collect);
  }
  try {
    writeFileSync(join(lock, "pid"), String(process.pid));
    if (livePushMarkers(dir) > 0) return undefined;
    return await collect();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function collectorRunning(dir: string): boolean {
  const lock = join(dir, "gc");
  let madeAt: number;
  try {
    madeAt = statSync(lock).mtimeMs;
  } catch {
    return false;
  }
  try {
    return alive(Number(readFileSync(join(lock, "pid"), "utf8")));
  } catch {
    return Date.now() - madeAt < PIDLESS_LOCK_STALE_MS; // made, its pid not written yet: starting
  }
}

function livePushMarkers(dir: string): number {
  return readdirSync(dir).filter((name) => {
    const pid = /^push-(\d+)-\d+$/.exec(name)?.[1];
    return pid !== undefined && alive(Number(pid));
  }).length;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
