/**
 * Brings up what the end-to-end suite runs against, once for all e2e files:
 * - by default the cluster simulator (`npm run sim -- up`): its kind/minikube stand-ins go first
 *   on PATH and KUBECONFIG points at the simulator's own file, so nothing of the user's is touched;
 * - with MLKUBE_E2E_CLUSTER=kind (or minikube) the real tools already on PATH, with no other change.
 * Test files see the result through process.env (workers start after this ran).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = new URL("../../..", import.meta.url).pathname;
let mlkubeHome: string | undefined;

/**
 * One e2e run at a time on a machine: runs share the simulator's state, the `kind` network and the
 * 127.0.0.1 ports clusters map, and each run's teardown removes every simulated cluster.
 */
const LOCK = join(tmpdir(), "mlkube-e2e.lock");

function acquireLock(): void {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(LOCK, "pid"), "utf8").trim() || "0");
      } catch {
        holder = 0; // the holder has made the folder but not yet written its pid
      }
      if (!holderAlive(holder)) {
        rmSync(LOCK, { recursive: true, force: true }); // left by a run that died
        continue;
      }
      execFileSync("sleep", ["2"]);
    }
  }
}

function holderAlive(pid: number): boolean {
  if (!pid) return true; // being written right now
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function setup(): void {
  acquireLock();
  // mlkube's own record of created clusters, private to this run.
  mlkubeHome = mkdtempSync(join(tmpdir(), "mlkube-e2e-home-"));
  process.env.MLKUBE_HOME = mlkubeHome;
  const target = process.env.MLKUBE_E2E_CLUSTER ?? "sim";
  if (target !== "sim") return;
  const exports = execFileSync(process.execPath, ["--import", "tsx", join(REPO, "test/sim/cli.ts"), "up"], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  for (const line of exports.split("\n")) {
    const match = /^export (\w+)=(.*)$/.exec(line.trim());
    if (!match?.[1] || match[2] === undefined) continue;
    // The value is shell-quoted for eval; evaluate it the same way a shell would.
    process.env[match[1]] = execFileSync("sh", ["-c", `printf '%s' ${match[2]}`], { encoding: "utf8", env: process.env });
  }
}

export function teardown(): void {
  if ((process.env.MLKUBE_E2E_CLUSTER ?? "sim") === "sim") {
    execFileSync(process.execPath, ["--import", "tsx", join(REPO, "test/sim/cli.ts"), "down"], { cwd: REPO, stdio: "inherit" });
  }
  if (mlkubeHome) rmSync(mlkubeHome, { recursive: true, force: true });
  rmSync(LOCK, { recursive: true, force: true });
}
