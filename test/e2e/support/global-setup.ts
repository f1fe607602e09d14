/**
 * Brings up what the end-to-end suite runs against, once for all e2e files:
 * - by default the cluster simulator (`npm run sim -- up`): its kind/minikube stand-ins go first
 *   on PATH and KUBECONFIG points at the simulator's own file, so nothing of the user's is touched;
 * - with MLKUBE_E2E_CLUSTER=kind (or minikube) the real tools already on PATH, with no other change.
 * Test files see the result through process.env (workers start after this ran).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, releaseLock } from "../../support/e2e-lock.js";
import { startSimulator, stopSimulator } from "../../support/sim-session.js";

let mlkubeHome: string | undefined;

export async function setup(): Promise<void> {
  await acquireLock((line) => process.stderr.write(`${line}\n`));
  // mlkube's own record of created clusters, private to this run.
  mlkubeHome = mkdtempSync(join(tmpdir(), "mlkube-e2e-home-"));
  process.env.MLKUBE_HOME = mlkubeHome;
  const target = process.env.MLKUBE_E2E_CLUSTER ?? "sim";
  if (target !== "sim") return;
  // Holding the lock, no other run uses the simulator: what it still has was left by one that died.
  startSimulator();
}

export function teardown(): void {
  if ((process.env.MLKUBE_E2E_CLUSTER ?? "sim") === "sim") stopSimulator();
  if (mlkubeHome) rmSync(mlkubeHome, { recursive: true, force: true });
  releaseLock();
}
