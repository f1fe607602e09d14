// The templates `mlkube init` writes, without an engine: each is a valid model directory (its
// mlkube.yaml loads, its Dockerfile runs as a numeric user, its requirements are pinned), and init
// never overwrites. test/cli/templates.test.ts builds and serves each one.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATE, listTemplates, scaffold, type Template } from "../../src/adapters/templates.js";
import { loadConfig } from "../../src/config/load.js";
import { isUserError } from "../../src/errors.js";

let templates: Template[];
let workDir: string;

beforeAll(async () => {
  templates = await listTemplates();
  workDir = await mkdtemp(join(tmpdir(), "mlkube-init-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

it("lists the default template first, then the others by name", () => {
  expect(templates.map((template) => template.name)).toEqual([DEFAULT_TEMPLATE, "sklearn-fastapi", "sklearn-oip"]);
  for (const template of templates) expect(template.description.length).toBeGreaterThan(20);
});

describe.each(["sklearn-flask", "sklearn-fastapi", "sklearn-oip"])("the %s template", (name) => {
  let dir: string;
  let written: string[];
  beforeAll(async () => {
    dir = join(workDir, `My ${name} Model`);
    written = await scaffold(
      templates.find((template) => template.name === name)!,
      dir,
      { name: "my-model" },
    );
  });

  it("writes a complete model directory, and nothing else", async () => {
    const expected = [".dockerignore", "Dockerfile", "README.md", "app.py", "mlkube.yaml", "requirements.txt", "train.py"];
    expect(written).toEqual(expected);
    expect((await readdir(dir)).sort()).toEqual(expected);
    for (const file of written) expect(await readFile(join(dir, file), "utf8")).not.toContain("{{name}}");
  });

  it("has an mlkube.yaml that loads, with the name filled in and smoke tests for health and predictions", async () => {
    const config = await loadConfig(dir);
    expect(config).toMatchObject({ name: "my-model", port: 8080 });
    if (name === "sklearn-oip") {
      // Its test comes from the server's model metadata (test/cli/templates.test.ts runs it).
      expect(config.tests).toEqual([]);
      expect(config.deploy.probes.readiness.path).toBe("/v2/health/ready");
      expect(await readFile(join(dir, "app.py"), "utf8")).toContain('MODEL_NAME = "my-model"');
      return;
    }
    expect(config.tests.map((test) => test.path)).toEqual(expect.arrayContaining(["/", "/predict"]));
    expect(config.tests.some((test) => test.repeat > 1 && test.expect.latencyMs !== undefined)).toBe(true);
  });

  it("builds FROM a BASE_IMAGE argument, trains at build time and runs as a numeric non-root user", async () => {
    const dockerfile = await readFile(join(dir, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=python:3\.11-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    expect(dockerfile).toMatch(/^RUN python3 train\.py$/m);
    expect(dockerfile).toMatch(/^USER [1-9]\d*$/m);
    expect(dockerfile.indexOf("train.py")).toBeLessThan(dockerfile.indexOf("COPY app.py"));
  });

  it("pins every requirement", async () => {
    const requirements = (await readFile(join(dir, "requirements.txt"), "utf8")).split("\n").filter((line) => line.trim() && !line.startsWith("#"));
    expect(requirements.length).toBeGreaterThanOrEqual(3);
    for (const line of requirements) expect(line).toMatch(/^[a-z][a-z0-9-]*==\d+(\.\d+)+$/);
  });

  it("keeps the build context to what the image needs", async () => {
    const ignored = (await readFile(join(dir, ".dockerignore"), "utf8")).split("\n");
    expect(ignored).toEqual(expect.arrayContaining([".git", ".venv", "mlkube.yaml", "__pycache__"]));
    expect(ignored).not.toContain("train.py"); // the build runs it
  });
});

describe("never overwriting", () => {
  it("lists the files that exist, writes nothing and keeps what was there", async () => {
    const dir = join(workDir, "taken");
    await mkdir(dir);
    await writeFile(join(dir, "app.py"), "print('mine')\n");
    await writeFile(join(dir, "Dockerfile"), "FROM mine\n");
    let error: unknown;
    try {
      await scaffold(templates[0]!, dir, { name: "taken" });
    } catch (caught) {
      error = caught;
    }
    expect(isUserError(error) && error.message).toMatch(/already has files the sklearn-flask template would write; nothing was written\.$/);
    expect(isUserError(error) && error.details).toEqual(["Dockerfile", "app.py"]);
    expect((await readdir(dir)).sort()).toEqual(["Dockerfile", "app.py"]);
    expect(await readFile(join(dir, "app.py"), "utf8")).toBe("print('mine')\n");
  });

  it("refuses a target that is a file", async () => {
    const file = join(workDir, "a-file");
    await writeFile(file, "x");
    await expect(scaffold(templates[0]!, file, { name: "a-file" })).rejects.toThrow(/a-file exists and is not a directory\.$/);
  });

  it("writes into an existing directory whose files do not collide", async () => {
    const dir = join(workDir, "notebooks-only");
    await mkdir(dir);
    await writeFile(join(dir, "explore.ipynb"), "{}");
    await scaffold(templates[0]!, dir, { name: "notebooks-only" });
    expect(await readdir(dir)).toContain("explore.ipynb");
    expect(await readdir(dir)).toContain("app.py");
  });
});
