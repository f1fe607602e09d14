/**
 * One user of the cluster simulator at a time on a machine: a directory holding the holder's pid.
 * e2e runs (test/e2e/support/global-setup.ts) and the bench take it for as long as they use the
 * simulator, because they share its state, the `kind` network and the NodePorts 30080-30084, and
 * each run's teardown removes every simulated cluster. A lock whose holder died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const LOCK = join(tmpdir(), "mlkube-e2e.lock");

export async function acquireLock(say: (line: string) => void = () => undefined): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch {
      // A plain file there is no lock of ours (`flock LOCK cmd` makes one, a natural thing to
      // type around a run): it would otherwise be waited on for ever.
      if (!isDirectory(LOCK)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      const holder = holderPid();
      if (holder !== 0 && !alive(holder)) {
        rmSync(LOCK, { recursive: true, force: true }); // left by a run that died
        continue;
      }
      if (!announced) say(`waiting for ${LOCK} (held by pid ${holder || "?"}: an e2e run or another bench)`);
      announced = true;
      await sleep(2_000);
    }
  }
}

/** Releases the lock only if this process holds it. */
export function releaseLock(): void {
  if (holderPid() === process.pid) rmSync(LOCK, { recursive: true, force: true });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return true; // gone in between: the next mkdir decides
  }
}

function holderPid(): number {
  try {
    return Number(readFileSync(join(LOCK, "pid"), "utf8").trim() || "0");
  } catch {
    return 0; // the holder has made the folder but not yet written its pid
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
