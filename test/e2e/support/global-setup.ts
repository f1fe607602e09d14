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
import { startSimulator, stopSimulator } from "../../support/sim-session.js";

let mlkubeHome: string | undefined;
/** Whether kind's local registry container was there before the run: only one this run started is removed. */
let registryBefore = true;

/**
 * The test files leave the local registry running after their cluster is gone (`down` without
 * --all), as a user's kind-registry outlives `kind delete cluster` (kind's recipe starts it with
 * restart=always, once): the next file's first push then finds the base image's 900 MB of layers
 * there instead of pushing them again. Files about the registry itself remove it (clusters,
 * delivery); the first push after that is a full one again.
 */
function registryExists(): boolean {
  try {
    execFileSync("docker", ["container", "inspect", "kind-registry"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function setup(): Promise<void> {
  await acquireLock((line) => process.stderr.write(`${line}\n`));
  // mlkube's own record of created clusters, private to this run.
  mlkubeHome = mkdtempSync(join(tmpdir(), "mlkube-e2e-home-"));
  process.env.MLKUBE_HOME = mlkubeHome;
  registryBefore = registryExists();
  const target = process.env.MLKUBE_E2E_CLUSTER ?? "sim";
  if (target !== "sim") return;
  // Holding the lock, no other run uses the simulator: what it still has was left by one that died.
  startSimulator();
}

export function teardown(): void {
  if (!registryBefore && registryExists()) execFileSync("docker", ["rm", "--force", "--volumes", "kind-registry"], { stdio: "ignore" });
  if ((process.env.MLKUBE_E2E_CLUSTER ?? "sim") === "sim") stopSimulator();
  if (mlkubeHome) rmSync(mlkubeHome, { recursive: true, force: true });
  releaseLock();
}
