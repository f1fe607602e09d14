import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../support/engine.js";

const run = promisify(execFile);
export const CLI = join(REPO_ROOT, "dist/cli.js");
/** sim (default), kind or minikube: what the suite runs against. */
export const E2E_CLUSTER = process.env.MLKUBE_E2E_CLUSTER ?? "sim";
export const PROVIDER = E2E_CLUSTER === "minikube" ? "minikube" : "kind";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built mlkube CLI as a user would, with the e2e environment (sim PATH, KUBECONFIG). */
export async function mlkube(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** A kind cluster name per test file, so files never share state; the config file picks it. */
export function clusterYaml(name: string, extra = ""): string {
  return `cluster:\n  provider: ${PROVIDER}\n  name: ${name}\n${extra}`;
}
