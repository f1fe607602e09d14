// Each template, as a new user gets it: `mlkube init` (the built CLI), a build on the real engine,
// the container serving on 127.0.0.1, and the template's own smoke tests passing against it.
// Deploying each template on the cluster simulator is covered by the simulator's suites.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder } from "../../src/adapters/docker/build.js";
import { loadSmokeCases } from "../../src/adapters/probe/cases.js";
import { discoverSmokeTests } from "../../src/adapters/probe/discover-tests.js";
import { runSmokeTests } from "../../src/adapters/probe/http.js";
import { loadConfig } from "../../src/config/load.js";
import { caseFromTest } from "../../src/core/smoke-cases.js";
import { imageHasPythonModules, runPublished, waitForHttp, type RunningModel } from "../support/containers.js";
import { BASE_IMAGE, REPO_ROOT, docker, engine, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/cli.js");
const hasEngine = await engineAvailable();

/** Runs the built CLI as a user would. */
async function mlkube(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * What each template needs from the base image when nothing can be installed (this machine cannot
 * reach PyPI): the Debian packages python3-flask and python3-sklearn are in the test base image;
 * the ASGI template also needs python3-fastapi and python3-uvicorn.
 */
const TEMPLATES = [
  { name: "sklearn-flask", modules: ["flask", "sklearn"], describedBy: undefined },
  { name: "sklearn-fastapi", modules: ["fastapi", "uvicorn", "sklearn"], describedBy: "OpenAPI document (GET /openapi.json)" },
  // Its mlkube.yaml has no tests: the server's model metadata gives the one that runs.
  { name: "sklearn-oip", modules: ["sklearn"], describedBy: "Open Inference Protocol metadata (GET /v2/models/sklearn-oip)" },
];

/** mlkube.yaml without its `tests:` section (the last one in every template). */
function withoutTests(text: string): string {
  const at = text.indexOf("\ntests:");
  return at < 0 ? text : `${text.slice(0, at)}\n`;
}

describe.runIf(hasEngine)("templates build, serve and pass their own smoke tests", () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "mlkube-templates-"));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  describe.each(TEMPLATES)("$name", ({ name, modules, describedBy }) => {
    const repository = uniqueName(`mlkube-test-${name}`);
    let dir: string;
    let model: RunningModel | undefined;
    let baseHasModules = false;

    beforeAll(async () => {
      baseHasModules = await imageHasPythonModules(BASE_IMAGE, modules);
    });
    afterAll(async () => {
      await model?.stop();
      await removeRepository(repository);
    });

    it("is written by mlkube init", async () => {
      dir = join(workDir, name);
      const result = await mlkube(["init", dir, "--template", name]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`from the ${name} template:`);
      expect(result.stdout).toContain("  mlkube.yaml\n");
    });

    it("builds, serves and passes its smoke tests", async () => {
      // scripts/build-base-image.sh installs these; a base image without them is a set-up bug, not a skip.
      expect(baseHasModules, `${BASE_IMAGE} must provide ${modules.join(", ")}`).toBe(true);
      const config = await loadConfig(dir, { buildArgs: { BASE_IMAGE } });
      const built = await new ImageBuilder(engine).build({
        contextDir: config.build.context,
        dockerfile: config.build.dockerfile,
        buildArgs: config.build.args,
        repository,
      });
      const user = (await docker.getImage(built.imageId).inspect()).Config.User;
      expect(user).toMatch(/^[1-9]\d*$/);

      model = await runPublished(built.reference, config.port);
      await waitForHttp(model.url);
      if (config.tests.length > 0) {
        const results = await runSmokeTests(model.url, await loadSmokeCases(config));
        expect(results.map((result) => ({ name: result.name, failures: result.failures }))).toEqual(
          config.tests.map((test) => ({ name: test.name, failures: [] })),
        );
        expect(results.every((result) => result.passed)).toBe(true);
      } else {
        // No written tests: the ones its server describes must pass.
        const found = await discoverSmokeTests(model.url, config.name);
        expect(found.tests.map((test) => test.origin)).toEqual([describedBy]);
        const results = await runSmokeTests(
          model.url,
          found.tests.map((test) => caseFromTest(test.test)),
        );
        expect(results.map((result) => ({ name: result.name, passed: result.passed, failures: result.failures }))).toEqual([
          { name: found.tests[0]!.entry.name, passed: true, failures: [] },
        ]);
      }
    });

    it("without tests in mlkube.yaml, `mlkube test` runs the ones the server describes, and --print writes them to adopt", async ({ skip }) => {
      if (!model) skip("the image was not built");
      const configFile = join(dir, "mlkube.yaml");
      const written = await readFile(configFile, "utf8");
      await writeFile(configFile, withoutTests(written));
      try {
        const generated = await mlkube(["test", dir, "--url", model!.url]);
        if (!describedBy) {
          expect(generated.code).toBe(1);
          expect(generated.stderr).toContain(
            `describes no request to test (asked POST /v2/repository/index 404, GET /v1/models 404, GET /v2/models/${name} 404, GET /openapi.json 404, GET /docs.json 404, GET /ping 404).`,
          );
          return;
        }
        expect(generated.stdout).toContain(
          `1 smoke test generated from the server's description: ${describedBy} ('mlkube test --print' writes them as mlkube.yaml)\n`,
        );
        expect(generated.stdout).toMatch(/^pass {2}POST \/\S+ +\d+ ms$/m);
        expect(generated.code, generated.stdout + generated.stderr).toBe(0);

        const printed = await mlkube(["test", dir, "--url", model!.url, "--print"]);
        expect(printed.code, printed.stderr).toBe(0);
        expect(printed.stdout).toContain(`  # from ${describedBy}\n`);
        await writeFile(configFile, `${withoutTests(written)}\n${printed.stdout}`);
        const adopted = await mlkube(["test", dir, "--url", model!.url]);
        expect(adopted.stdout).not.toContain("generated");
        expect(adopted.stdout).toMatch(/^1 passed, 0 failed/m);
        expect(adopted.code).toBe(0);
      } finally {
        await writeFile(configFile, written);
      }
    });

    it("passes `mlkube test --url`, and fails it with expected vs actual when a prediction changes", async ({ skip }) => {
      if (!model) skip("the image was not built");
      if (name === "sklearn-oip") skip("no written tests: the test above covers its generated one");
      const passing = await mlkube(["test", dir, "--url", model!.url, "--json"]);
      expect(passing.code).toBe(0);
      const report = JSON.parse(passing.stdout) as { passed: boolean; total: number; failed: number; url: string };
      expect(report).toMatchObject({ passed: true, failed: 0, url: model!.url });

      const configFile = join(dir, "mlkube.yaml");
      await writeFile(configFile, (await readFile(configFile, "utf8")).replace('"prediction[0]": 0', '"prediction[0]": 1'));
      const failing = await mlkube(["test", dir, "--url", model!.url]);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/^FAIL {2}setosa +\d+ ms$/m);
      expect(failing.stdout).toContain("      jsonPath prediction[0]: expected 1, got 0\n");
      expect(failing.stdout).toMatch(/^pass {2}latency +p50 \d+ ms, p95 \d+ ms \(20 requests\)$/m);
      expect(failing.stdout).toMatch(new RegExp(`^${report.total - 1} passed, 1 failed \\(${model!.url}, [\\d.]+ s\\)$`, "m"));
    });
  });
});
