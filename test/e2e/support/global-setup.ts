/**
 * Brings up what the end-to-end suite runs against, once for all e2e files:
 * - by default the cluster simulator (`npm run sim -- up`): its kind/minikube stand-ins go first
 *   on PATH and KUBECONFIG points at the simulator's own file, so nothing of the user's is touched;
 * - with MLKUBE_E2E_CLUSTER=kind (or minikube) the real tools already on PATH, with no other change.
 * Test files see the result through process.env (workers start after this ran).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, releaseLock } from "../../support/e2e-lock.js";

const REPO = new URL("../../..", import.meta.url).pathname;
let mlkubeHome: string | undefined;

export async function setup(): Promise<void> {
  await acquireLock((line) => process.stderr.write(`${line}\n`));
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
  releaseLock();
}
