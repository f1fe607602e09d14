/** Helpers the simulator's own tests share (not used by the simulator itself). */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { BASE_IMAGE, FIXTURE_DIR, engineAvailable } from "../support/engine.js";
import { hostDocker } from "./docker.js";
import { REPO_ROOT } from "./state.js";

const run = promisify(execFile);

export const FIXTURE_IMAGE = "mlkube-sim-test/iris:fixture";

/** Whether the simulator can run here: a Docker engine, root, and for `fixture` the model's base image. */
export async function simAvailable(options: { fixture?: boolean } = {}): Promise<boolean> {
  if (options.fixture ? !(await engineAvailable()) : !(await engineAnswers())) return false;
  // Pod routes and cgroup cleanup need root; under CI a missing requirement fails instead of skipping.
  if (process.getuid?.() !== 0) {
    if (process.env.CI) throw new Error("CI=true but the cluster simulator needs root (host routes to pod subnets, cgroup cleanup)");
    return false;
  }
  return true;
}

async function engineAnswers(): Promise<boolean> {
  try {
    await hostDocker.ping();
    return true;
  } catch {
    if (process.env.CI) throw new Error("CI=true but the Docker engine at /var/run/docker.sock does not answer (scripts/setup-engine.sh starts it)");
    return false;
  }
}

/** Each test file gets its own state directory, so `down` at its end removes exactly its things. */
export async function useTemporarySimHome(): Promise<string> {
  const home = await mkdtemp("/tmp/mlkube-sim-test-");
  process.env.MLKUBE_SIM_HOME = home;
  return home;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once("error", () => resolve(false))
      .listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The iris fixture as an image (layer cache makes repeats take a second). */
export async function buildFixtureImage(tag = FIXTURE_IMAGE): Promise<string> {
  await run("docker", ["build", "-q", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, "-t", tag, FIXTURE_DIR], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return tag;
}

/** Runs a stand-in executable the way mlkube would: by name on PATH. */
export async function runTool(
  tool: "kind" | "minikube",
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(REPO_ROOT, "test/sim/bin", tool), args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

export async function postPredict(url: string, features = [5.1, 3.5, 1.4, 0.2]): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ features }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ""}`);
}
