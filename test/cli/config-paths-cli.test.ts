// Paths in mlkube.yaml stay inside the model directory (issue 17.5), seen from the built CLI:
// `config`, `build` and `dev --once` refuse a build context that climbs out to /etc, or a path
// that does not exist, with the located error and exit 1, before anything reaches an engine; with
// `allowPathsOutside: true`, `config` and the build warn once instead.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineAvailable, REPO_ROOT, removeRepository, uniqueName } from "../support/engine.js";

const CLI = join(REPO_ROOT, "dist", "cli.js");
const IMAGE = uniqueName("mlkube-paths");
const engine = await engineAvailable();
let work: string;
/** Stands where DOCKER_HOST points: it answers nothing, it only counts who connects. */
let tripwire: Server;
let connections = 0;

function mlkube(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, KUBECONFIG: join(work, "no-kubeconfig"), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function model(name: string, yaml: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), "FROM scratch\nCOPY . /\nEXPOSE 5000\n");
  await writeFile(join(dir, "mlkube.yaml"), yaml);
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "mlkube-paths-cli-"));
  tripwire = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tripwire.listen(join(work, "engine.sock"), resolve));
});

afterAll(async () => {
  tripwire?.close();
  if (engine) await removeRepository(IMAGE);
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each([
  {
    fault: "a build context that climbs out to /etc",
    yaml: (dir: string) => `name: escape\nbuild:\n  context: ${relative(dir, "/etc")}\n`,
    error: (dir: string) => `escape/mlkube.yaml:3:12 build.context: "${relative(dir, "/etc")}" resolves to /etc, outside the model directory ${dir}`,
    hint: /^fix: Keep the paths inside the model directory .*allowPathsOutside: true/m,
  },
  {
    fault: "a manifests path that does not exist",
    yaml: () => "name: missing\nmanifests:\n  - k8s/\n",
    error: (dir: string) => `missing/mlkube.yaml:3:5 manifests[0]: "k8s/" does not exist (${dir}/k8s)`,
    hint: /^fix: Create what is missing, or correct the paths/m,
  },
])("$fault", ({ fault, yaml, error, hint }) => {
  const name = fault.startsWith("a build context") ? "escape" : "missing";
  let dir: string;
  beforeAll(async () => {
    dir = join(work, name);
    await model(name, yaml(dir));
  });

  it.each([
    ["config", (target: string) => ["config", target]],
    ["build", (target: string) => ["build", target]],
    ["dev --once", (target: string) => ["dev", target, "--once", "--no-tui"]],
  ])("mlkube %s fails with the located error and sends nothing to the engine", async (_command, args) => {
    const before = connections;
    const result = await mlkube(args(dir), { DOCKER_HOST: `unix://${join(work, "engine.sock")}` });
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(1);
    expect(result.stderr, output).toContain(`error: ${name}/mlkube.yaml has 1 error\n  ${error(dir)}\n`);
    expect(result.stderr, output).toMatch(hint);
    expect(output).not.toMatch(/internal error| {4}at /);
    expect(connections - before, "connections to the engine").toBe(0);
  });
});

describe("allowPathsOutside: true", () => {
  let dir: string;
  let warning: string;
  beforeAll(async () => {
    await mkdir(join(work, "shared"));
    await writeFile(join(work, "shared", "vocabulary.txt"), "setosa\n");
    dir = await model("allowed", `name: allowed\nimage: { repository: ${IMAGE} }\nallowPathsOutside: true\nbuild:\n  context: ../shared\n`);
    warning = `warning: allowed/mlkube.yaml:5:12 build.context: "../shared" resolves to ${join(work, "shared")}, outside the model directory ${dir} (allowed by allowPathsOutside: true)\n`;
  });

  it("mlkube config prints the configuration and warns once on stderr", async () => {
    const result = await mlkube(["config", dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(warning);
    expect(result.stdout).toContain(`context: ${join(work, "shared")}\n`);
  });

  it.runIf(engine)("mlkube build builds from there and warns once", async () => {
    const result = await mlkube(["build", dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.split(warning)).toHaveLength(2);
    expect(result.stdout).toMatch(new RegExp(`^${IMAGE}:[0-9a-f]{16}\\n$`));
  });
});
