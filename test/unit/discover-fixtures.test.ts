/**
 * Zero configuration against servers that answer as the real stacks do (fixtures/: KServe v1,
 * BentoML, TorchServe; each Python's standard library, run here on a free port): the readiness
 * path mlkube detects, the smoke tests it generates from what each describes, and those tests
 * passing against the server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectHealthEndpoint } from "../../src/adapters/probe/detect-health.js";
import { discoverSmokeTests } from "../../src/adapters/probe/discover-tests.js";
import { runSmokeTests } from "../../src/adapters/probe/http.js";
import { caseFromTest } from "../../src/core/smoke-cases.js";

const FIXTURES = [
  {
    fixture: "kserve-v1-iris",
    script: "server.py",
    readiness: "/v1/models/iris",
    tests: [{ name: "GET /v1/models/iris", origin: "KServe v1 model list (GET /v1/models)" }],
  },
  { fixture: "bentoml-iris", script: "service.py", readiness: "/readyz", tests: [{ name: "POST /classify", origin: "OpenAPI document (GET /docs.json)" }] },
  {
    fixture: "torchserve-iris",
    script: "server.py",
    readiness: "/ping",
    tests: [{ name: "GET /ping", origin: "TorchServe health check (GET /ping; its inference port describes no model inputs)" }],
  },
];

describe.each(FIXTURES)("zero configuration against $fixture", ({ fixture, script, readiness, tests }) => {
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    server = spawn("python3", [script], {
      cwd: fileURLToPath(new URL(`../../fixtures/${fixture}`, import.meta.url)),
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await once(server.stdout!, "data"); // it prints once it listens
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(() => {
    server?.kill();
  });

  it(`detects ${readiness} as the readiness path`, async () => {
    expect((await detectHealthEndpoint(url, "model")).found?.path).toBe(readiness);
  });

  it("generates smoke tests from what the server describes, and they pass against it", async () => {
    const found = await discoverSmokeTests(url, "model");
    expect(found.tests.map((test) => ({ name: test.entry.name, origin: test.origin }))).toEqual(tests);
    const results = await runSmokeTests(
      url,
      found.tests.map((test) => caseFromTest(test.test)),
    );
    expect(results.map((result) => ({ name: result.name, passed: result.passed, failures: result.failures }))).toEqual(
      tests.map(({ name }) => ({ name, passed: true, failures: [] })),
    );
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
