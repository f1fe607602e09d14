// Every command of the built CLI against the four faults a user's machine most often has: no
// kubeconfig, a context whose API server is gone, no Docker engine, a directory that does not
// exist. Each must end as a user error that names the fault (exit 1), or succeed where the fault
// does not concern the command; never as "internal error" with a stack trace (issue 17, point 4).
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineAvailable, FIXTURE_DIR, REPO_ROOT, removeRepository, uniqueName } from "../support/engine.js";
import { closedPort } from "../support/closed-port.js";

const CLI = join(REPO_ROOT, "dist", "cli.js");
/**
 * A guard against hangs: a dead cluster must not keep a command waiting. Each run takes about a
 * second on an idle machine; the margin is for a loaded 2-core CI runner.
 */
const FAIL_FAST_MS = 30_000;
const CONTEXT = "kind-gone";
/** The cluster commands are pointed at a named context, so the kubeconfig is what they must use. */
const ON_CONTEXT = ["--provider", "context", "--context", CONTEXT];
const IMAGE = uniqueName("mlkube-faults");

let work: string;
let deadPort: number;
let engine: boolean;

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

function mlkube(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // PATH holds node alone: no kind or minikube, wherever this runs, so the cluster commands use
    // the named context and doctor's verdicts do not depend on the machine's tools.
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { PATH: dirname(process.execPath), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), FAIL_FAST_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}

const kubeconfig = (port: number) => `apiVersion: v1
kind: Config
current-context: ${CONTEXT}
clusters: [{ name: ${CONTEXT}, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
contexts: [{ name: ${CONTEXT}, context: { cluster: ${CONTEXT}, user: ${CONTEXT} } }]
users: [{ name: ${CONTEXT}, user: { token: not-a-secret } }]
`;

beforeAll(async () => {
  engine = await engineAvailable();
  work = await mkdtemp(join(tmpdir(), "mlkube-faults-"));
  // A model that builds in a moment without pulling anything.
  await mkdir(join(work, "model"));
  await writeFile(join(work, "model", "Dockerfile"), "FROM scratch\nCOPY hello.txt /\nEXPOSE 5000\n");
  await writeFile(join(work, "model", "hello.txt"), "hello\n");
  await writeFile(
    join(work, "model", "mlkube.yaml"),
    `name: faults\nimage: { repository: ${IMAGE} }\ntests:\n  - { path: /predict, body: { features: [1] }, expect: { status: 200 } }\n`,
  );
  await cp(join(FIXTURE_DIR, "production"), join(work, "production"), { recursive: true });
  await mkdir(join(work, "home"));
  deadPort = await closedPort();
  await writeFile(join(work, "dead.kubeconfig"), kubeconfig(deadPort));
});

afterAll(async () => {
  if (engine) await removeRepository(IMAGE);
  if (work) await rm(work, { recursive: true, force: true });
});

type Fault = "no kubeconfig" | "dead context" | "no engine" | "missing directory";

function faultEnv(fault: Fault): NodeJS.ProcessEnv {
  const home = join(work, "home");
  switch (fault) {
    case "no kubeconfig":
      return { HOME: home, KUBECONFIG: join(work, "nowhere", "config") };
    case "dead context":
    case "missing directory":
      return { HOME: home, KUBECONFIG: join(work, "dead.kubeconfig") };
    case "no engine":
      return { HOME: home, KUBECONFIG: join(work, "dead.kubeconfig"), DOCKER_HOST: `unix://${join(work, "none.sock")}` };
  }
}

/** The arguments of each command, given the model directory and a manifests path (either may not exist). */
const COMMANDS: Record<string, (dir: string, manifests: string, fault: Fault) => string[]> = {
  dev: (dir) => ["dev", dir, "--once", "--no-tui", ...ON_CONTEXT],
  build: (dir) => ["build", dir],
  up: (dir) => ["up", dir, ...ON_CONTEXT],
  "up --dry-run": (dir) => ["up", dir, "--dry-run", ...ON_CONTEXT],
  down: (dir) => ["down", dir, "--yes", ...ON_CONTEXT],
  status: (dir) => ["status", dir, ...ON_CONTEXT],
  test: (dir) => ["test", dir, ...ON_CONTEXT],
  logs: (dir) => ["logs", dir, ...ON_CONTEXT],
  render: (dir) => ["render", dir],
  config: (dir) => ["config", dir],
  doctor: (dir) => ["doctor", dir],
  // A directory of its own per fault, under one that does not exist yet either.
  init: (_dir, _manifests, fault) => ["init", join(work, "inits", fault.replace(/ /g, "-")), "--template", "sklearn-flask"],
  "reproduce --dry-run": (_dir, manifests) => ["reproduce", manifests, "--dry-run"],
  reproduce: (dir) => ["reproduce", join(work, "production"), "--model", dir, ...ON_CONTEXT],
};

const missingDir = () => join(work, "no-such-dir");

/** What each fault must say: a RegExp for the message (exit 1), or "ok" (exit 0). */
const NO_KUBECONFIG = () =>
  new RegExp(`The kubeconfig ${join(work, "nowhere", "config")} \\(from KUBECONFIG\\) does not exist\\.\\n.*fix: .*mlkube up.*KUBECONFIG`);
const REFUSED = () =>
  new RegExp(
    `The cluster at https://127\\.0\\.0\\.1:${deadPort} \\(context ${CONTEXT}\\) cannot be reached: nothing listens there \\(connection refused\\)\\.\\n.*fix: .*mlkube up`,
  );
const NO_ENGINE = () =>
  new RegExp(`Cannot reach the Docker engine at unix://${join(work, "none.sock")} from DOCKER_HOST: no socket exists at that path\\.\\n.*fix: .*DOCKER_HOST`);
// Shown as given, or relative to the working directory.
const MISSING = () => /error: (\/.*\/)?no-such-dir does not exist\.\nfix: /;

type Expectation = "ok" | (() => RegExp);

const EXPECTED: Record<Fault, Record<keyof typeof COMMANDS, Expectation>> = {
  "no kubeconfig": {
    dev: NO_KUBECONFIG,
    build: "ok",
    up: NO_KUBECONFIG,
    "up --dry-run": NO_KUBECONFIG,
    down: NO_KUBECONFIG,
    status: NO_KUBECONFIG,
    test: NO_KUBECONFIG,
    logs: NO_KUBECONFIG,
    render: "ok",
    config: "ok",
    init: "ok",
    "reproduce --dry-run": "ok",
    reproduce: NO_KUBECONFIG,
    // Without kind or minikube on PATH and no kubeconfig, there is nothing to deploy to.
    doctor: () => /fail context +nothing to run the model on: no kind, no minikube, and no kube context/,
  },
  "dead context": {
    dev: REFUSED,
    build: "ok",
    up: REFUSED,
    "up --dry-run": "ok",
    status: REFUSED,
    test: REFUSED,
    logs: REFUSED,
    // mlkube never deletes a context it did not create, so down has nothing to ask the cluster.
    down: "ok",
    render: "ok",
    config: "ok",
    init: "ok",
    "reproduce --dry-run": "ok",
    reproduce: REFUSED,
    doctor: () => new RegExp(`fail context +.*${CONTEXT} does not answer at https://127\\.0\\.0\\.1:${deadPort} \\(ECONNREFUSED\\)`),
  },
  "no engine": {
    dev: NO_ENGINE,
    build: NO_ENGINE,
    up: NO_ENGINE,
    "up --dry-run": NO_ENGINE,
    down: NO_ENGINE,
    status: NO_ENGINE,
    test: NO_ENGINE,
    logs: NO_ENGINE,
    render: "ok",
    config: "ok",
    init: "ok",
    "reproduce --dry-run": "ok",
    reproduce: NO_ENGINE,
    doctor: () => new RegExp(`fail docker +no engine answers at unix://${join(work, "none.sock")} from DOCKER_HOST \\(ENOENT\\)`),
  },
  "missing directory": {
    dev: MISSING,
    build: MISSING,
    up: MISSING,
    "up --dry-run": MISSING,
    down: MISSING,
    status: MISSING,
    test: MISSING,
    logs: MISSING,
    render: MISSING,
    config: MISSING,
    doctor: MISSING,
    "reproduce --dry-run": MISSING,
    reproduce: MISSING,
    init: "ok", // init makes the directory it is given (and its parents)
  },
};

describe.each(Object.keys(EXPECTED) as Fault[])("%s", (fault) => {
  it.concurrent.each(Object.keys(COMMANDS))("mlkube %s", async (command) => {
    // Without an engine (outside CI) a build cannot succeed whatever the kube fault is.
    if (EXPECTED[fault][command] === "ok" && command === "build" && !engine) return;
    const missing = fault === "missing directory";
    const args = COMMANDS[command]!(missing ? missingDir() : join(work, "model"), missing ? missingDir() : join(work, "production"), fault);
    const run = await mlkube(args, faultEnv(fault));
    const expected = EXPECTED[fault][command]!;
    const shown = `mlkube ${args.join(" ")} (exit ${run.code}, ${Math.round(run.ms)} ms):\n${run.output}`;
    expect(run.output, shown).not.toMatch(/internal error/i);
    expect(run.output, shown).not.toContain("    at ");
    expect(run.ms, shown).toBeLessThan(FAIL_FAST_MS);
    if (expected === "ok") {
      expect(run.code, shown).toBe(0);
    } else {
      expect(run.code, shown).toBe(1);
      expect(run.output, shown).toMatch(expected());
    }
  });
});
