// Runs the built CLI, so the whole path is covered: commander wiring, loadConfig, reportError and
// the exit code. Builds first (npm test does too) so it also checks that the build writes the
// JSON Schema.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configJsonSchema } from "../../src/config/json-schema.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist", "cli.js");
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "mlkube-config-cli-"));
  await mkdir(join(workDir, "good"));
  await writeFile(join(workDir, "good", "Dockerfile"), "FROM python:3.11-slim\nEXPOSE 5000\n");
  await writeFile(join(workDir, "good", "mlkube.yaml"), "name: iris\ndeploy:\n  replicas: 2\n");
  await mkdir(join(workDir, "bad"));
  await writeFile(join(workDir, "bad", "Dockerfile"), "FROM python:3.11-slim\nEXPOSE 5000\n");
  await writeFile(join(workDir, "bad", "mlkube.yaml"), "deploy:\n  replica: 2\n  replicas: three\n");
  await mkdir(join(workDir, "empty"));
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function mlkube(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: workDir, encoding: "utf8" });
}

describe("npm run build", () => {
  it("writes schema/mlkube.schema.json from the zod schema", async () => {
    const written: unknown = JSON.parse(await readFile(join(root, "schema", "mlkube.schema.json"), "utf8"));
    expect(written).toEqual(configJsonSchema());
  });
});

describe("mlkube dev --help", () => {
  it("offers --no-live", () => {
    const result = mlkube("dev", "--help");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--no-live +rebuild the image for every change instead of copying/);
  });
});

describe("mlkube config", () => {
  it("prints the resolved configuration as YAML", () => {
    const result = mlkube("config", "good");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const config = parse(result.stdout) as Record<string, unknown>;
    expect(config).toMatchObject({
      dir: join(workDir, "good"),
      configFile: join(workDir, "good", "mlkube.yaml"),
      name: "iris",
      port: 5000,
      deploy: { replicas: 2, rolloutTimeoutSeconds: 180 },
      service: { nodePort: 30080 },
    });
  });

  it("prints JSON with --json", () => {
    const result = mlkube("config", "good", "--json");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: "iris", port: 5000, cluster: { provider: "auto" } });
  });

  it("prints every error with its position and exits 1", () => {
    const result = mlkube("config", "bad");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "error: bad/mlkube.yaml has 2 errors",
      "  bad/mlkube.yaml:2:3 deploy.replica: unknown key, did you mean `replicas`?",
      '  bad/mlkube.yaml:3:13 deploy.replicas: expected a whole number >= 0, found "three"',
    ]);
    // The schema the build wrote, found from the bundle's chunk.
    expect(lines[3]).toMatch(/^fix: Correct the fields listed above in bad\/mlkube\.yaml; /);
    expect(lines[3]).toContain(`$schema=${join(root, "schema", "mlkube.schema.json")}"`);
    expect(lines).toHaveLength(4);
  });

  it("prints the live update settings, and a bad sync rule at its line", async () => {
    expect(JSON.parse(mlkube("config", "good", "--json").stdout)).toMatchObject({ sync: { mode: "infer" }, restart: "auto" });
    await mkdir(join(workDir, "bad-sync"));
    await writeFile(join(workDir, "bad-sync", "Dockerfile"), "FROM python:3.11-slim\nEXPOSE 5000\n");
    await writeFile(join(workDir, "bad-sync", "mlkube.yaml"), "sync:\n  - src: Dockerfile\n    dest: app/\n");
    const result = mlkube("config", "bad-sync");
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").slice(0, 2)).toEqual([
      "error: bad-sync/mlkube.yaml has 1 error",
      '  bad-sync/mlkube.yaml:3:11 sync[0].dest: expected an absolute container path such as "/app/" or "/app/model.pkl", found "app/"',
    ]);
  });

  it("explains a directory that is not a model directory", () => {
    const result = mlkube("config", "empty");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: empty has no Dockerfile and no mlkube\.yaml/);
  });
});
