// The smoke-test runner against real local HTTP servers: a model stand-in, a server that accepts
// connections and never answers (what Docker's port proxy does before the app listens), and a
// closed port.
import { Agent, createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSmokeCases } from "../../src/adapters/probe/cases.js";
import { runSmokeTests, sendRequest } from "../../src/adapters/probe/http.js";
import { parseConfig } from "../../src/config/load.js";
import { caseFromTest, parseRecordedRequests, timeoutFor, type SmokeCase } from "../../src/core/smoke-cases.js";
import { isUserError } from "../../src/errors.js";

let connections = 0;
const received: { method: string; url: string; contentType: string | undefined; body: string }[] = [];
let model: Server;
let modelUrl: string;
let silent: TcpServer;
let silentUrl: string;
const heldSockets = new Set<Socket>();
let workDir: string;

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of request) body += String(chunk);
  return body;
}

beforeAll(async () => {
  model = createServer((request, response) => {
    void readBody(request).then((body) => {
      received.push({ method: request.method ?? "", url: request.url ?? "", contentType: request.headers["content-type"], body });
      if (request.url === "/") return response.end("ok\n");
      if (request.url === "/slow") return; // never answers
      if (request.url === "/moved") return response.writeHead(302, { location: "/" }).end();
      const features = (JSON.parse(body || "{}") as { features?: number[] }).features;
      if (!features) return response.writeHead(400, { "content-type": "application/json" }).end('{"error":"no features"}');
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ prediction: [features[0]! > 6 ? 2 : 0] }));
    });
  });
  model.on("connection", () => connections++);
  await new Promise<void>((resolve) => model.listen(0, "127.0.0.1", resolve));
  modelUrl = `http://127.0.0.1:${(model.address() as { port: number }).port}`;
  silent = createTcpServer((socket) => heldSockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  workDir = await mkdtemp(join(tmpdir(), "mlkube-smoke-"));
});

afterAll(async () => {
  for (const socket of heldSockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  model.closeAllConnections();
  await new Promise((resolve) => model.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

function testsFrom(yaml: string) {
  return parseConfig(yaml, "mlkube.yaml").tests;
}

describe("cases from mlkube.yaml", () => {
  it("encodes the body as JSON, defaults the method and the timeout", () => {
    const [predict, health] = testsFrom("tests:\n  - path: /predict\n    body: { features: [1, 2] }\n  - path: /\n    expect: { latencyMs: 300 }\n").map(
      (test) => caseFromTest(test),
    );
    expect(predict).toMatchObject({
      name: "POST /predict",
      method: "POST",
      body: '{"features":[1,2]}',
      headers: { "content-type": "application/json" },
      timeoutMs: 10_000,
      repeat: 1,
    });
    expect(health).toMatchObject({ name: "GET /", method: "GET", body: undefined, headers: {}, timeoutMs: 600 });
  });

  it("keeps a Content-Type the test sets", () => {
    const [test] = testsFrom("tests:\n  - path: /predict\n    headers: { Content-Type: text/csv }\n    body: '1,2,3'\n");
    expect(caseFromTest(test!, "1,2,3\n").headers).toEqual({ "Content-Type": "text/csv" });
  });

  it.each([
    [undefined, 10_000],
    [500, 1000],
    [20, 100],
  ])("latencyMs %s gives each request %i ms", (latencyMs, timeoutMs) => {
    expect(timeoutFor(latencyMs)).toBe(timeoutMs);
  });

  it("reads bodyFile and the recorded requests, and names a missing file", async () => {
    await writeFile(join(workDir, "setosa.json"), '{"features": [5.1, 3.5, 1.4, 0.2]}');
    await writeFile(join(workDir, "recorded.jsonl"), '{"request": {"path": "/"}, "response": {"status": 200, "body": "ok\\n"}}\n');
    const tests = testsFrom("tests:\n  - name: from a file\n    path: /predict\n    bodyFile: setosa.json\n").map((test) => ({
      ...test,
      bodyFile: join(workDir, test.bodyFile!),
    }));
    const cases = await loadSmokeCases({ tests, requests: join(workDir, "recorded.jsonl"), configFile: join(workDir, "mlkube.yaml") });
    expect(cases.map((smokeCase) => [smokeCase.name, smokeCase.body])).toEqual([
      ["from a file", '{"features": [5.1, 3.5, 1.4, 0.2]}'],
      [expect.stringMatching(/recorded\.jsonl:1 GET \/$/), undefined],
    ]);
    const missing = loadSmokeCases({ tests: [{ ...tests[0]!, bodyFile: join(workDir, "nope.json") }], requests: undefined, configFile: null });
    await expect(missing).rejects.toThrow(/nope\.json \(the bodyFile of tests\[0\] \(from a file\) in mlkube\.yaml\) does not exist/);
  });
});

describe("recorded requests (JSON Lines)", () => {
  it("turns each line into a case whose expectation is the recorded response", () => {
    const text = [
      '{"name": "setosa", "request": {"method": "post", "path": "/predict", "body": {"features": [1]}}, "response": {"status": 200, "body": {"p": 0.1}}, "recordedAt": "2024-01-01"}',
      "",
      '{"request": {"path": "/"}, "response": {"status": 200, "body": "ok\\n"}}',
      '{"request": {"path": "/raw", "body": "a,b"}}',
    ].join("\n");
    const [setosa, health, raw] = parseRecordedRequests(text, "cases.jsonl");
    expect(setosa).toMatchObject({ name: "setosa", method: "POST", body: '{"features":[1]}', expect: { status: 200, json: { p: 0.1 }, tolerance: 1e-9 } });
    expect(health).toMatchObject({ name: "cases.jsonl:3 GET /", method: "GET", expect: { status: 200, text: "ok\n" } });
    expect(raw).toMatchObject({ name: "cases.jsonl:4 POST /raw", body: "a,b", expect: { status: undefined } });
  });

  it("lists every bad line with its number", () => {
    const text = ['{"request": {"path": "predict"}}', "not json", '{"response": {}}'].join("\n");
    let error: unknown;
    try {
      parseRecordedRequests(text, "cases.jsonl");
    } catch (caught) {
      error = caught;
    }
    expect(isUserError(error) && error.message).toBe("cases.jsonl has 3 bad lines");
    expect(isUserError(error) && error.details).toEqual([
      'cases.jsonl:1 request.path: a path starting with "/"',
      expect.stringMatching(/^cases\.jsonl:2 is not JSON: /),
      expect.stringMatching(/^cases\.jsonl:3 request: /),
    ]);
  });
});

function smokeCase(overrides: Partial<SmokeCase>): SmokeCase {
  return {
    name: "case",
    source: "test",
    method: "GET",
    path: "/",
    headers: {},
    body: undefined,
    repeat: 1,
    expect: { status: 200, tolerance: 0 },
    timeoutMs: 2000,
    ...overrides,
  };
}

describe("runSmokeTests against a live server", () => {
  it("sends each case, checks every response and keeps it", async () => {
    received.length = 0;
    const [test] = testsFrom(
      "tests:\n  - name: virginica\n    path: /predict\n    body: { features: [6.7, 3.0, 5.2, 2.3] }\n    repeat: 3\n    expect: { json: { prediction: [0] } }\n",
    );
    const results = await runSmokeTests(`${modelUrl}/`, [
      caseFromTest(test!),
      smokeCase({ name: "health", expect: { status: 200, tolerance: 0, text: "ok\n" } }),
    ]);
    expect(received).toHaveLength(4);
    expect(received[0]).toEqual({ method: "POST", url: "/predict", contentType: "application/json", body: '{"features":[6.7,3,5.2,2.3]}' });
    const [virginica, health] = results;
    expect(virginica).toMatchObject({ passed: false, requests: 3, failedRequests: 3, failures: [{ what: "json.prediction[0]", expected: "0", actual: "2" }] });
    expect(virginica?.response).toMatchObject({ status: 200, json: { prediction: [2] } });
    expect(virginica?.latency?.p95).toBeGreaterThan(0);
    expect(health).toMatchObject({ passed: true, response: { bodyText: "ok\n", json: undefined } });
  });

  it("opens a new connection for every request, so a rollout's new pod is what gets tested", async () => {
    // A kept-alive connection made before a rollout still reaches the old pod through the node's
    // connection tracking: each request must connect afresh, as curl does.
    connections = 0;
    const [test] = testsFrom("tests:\n  - path: /predict\n    body: { features: [5.1, 3.5, 1.4, 0.2] }\n    repeat: 3\n");
    await runSmokeTests(modelUrl, [caseFromTest(test!), smokeCase({})]);
    expect(connections).toBe(4);
  });

  it("keeps one connection for every request when given a kept-alive agent (a port-forward to one pod)", async () => {
    connections = 0;
    const [test] = testsFrom("tests:\n  - path: /predict\n    body: { features: [5.1, 3.5, 1.4, 0.2] }\n    repeat: 3\n");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const results = await runSmokeTests(modelUrl, [caseFromTest(test!), smokeCase({})], { agent });
    expect(results.map((result) => result.passed)).toEqual([true, true]);
    expect(connections).toBe(1);
    // The connection stays open for whoever owns the agent (the next step on that pod), until it is destroyed.
    const open = () => new Promise<number>((resolve) => model.getConnections((_error, count) => resolve(count)));
    expect(await open()).toBe(1);
    agent.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await open()).toBe(0);
  });

  it("sends a request again on a new connection when the server had closed the kept one", async () => {
    // Hangs up without answering on a reused connection: what a server's idle timeout does to a
    // request that leaves just as the connection closes.
    let served = 0;
    const hangingUp = createServer((request, response) => {
      served++;
      if (served === 2) return request.socket.destroy();
      response.end("ok\n");
    });
    let opened = 0;
    hangingUp.on("connection", () => opened++);
    await new Promise<void>((resolve) => hangingUp.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(hangingUp.address() as { port: number }).port}`;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const results = await runSmokeTests(url, [smokeCase({}), smokeCase({}), smokeCase({})], { agent }).finally(() => agent.destroy());
      expect(results.map((result) => result.passed)).toEqual([true, true, true]);
      expect(served).toBe(4);
      expect(opened).toBe(2);
    } finally {
      hangingUp.closeAllConnections();
      await new Promise((resolve) => hangingUp.close(resolve));
    }
  });

  it("reports a redirect as the status it is", async () => {
    const [moved] = await runSmokeTests(modelUrl, [smokeCase({ path: "/moved" })]);
    expect(moved?.failures).toEqual([{ what: "status", expected: "200", actual: "302" }]);
  });

  it("gives up on a connection that is accepted and never answered", async () => {
    const started = performance.now();
    const outcome = await sendRequest(silentUrl, smokeCase({ timeoutMs: 300 }));
    expect(outcome).toEqual({ error: "no answer within 300 ms" });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("fails clearly when the model does not answer at all", async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(runSmokeTests(`http://127.0.0.1:${port}`, [smokeCase({}), smokeCase({})])).rejects.toThrow(
      `The model at http://127.0.0.1:${port} does not answer: connection refused.`,
    );
  });

  it("reports a later case without an answer as that case's failure", async () => {
    const [health, slow] = await runSmokeTests(modelUrl, [smokeCase({}), smokeCase({ name: "slow", path: "/slow", timeoutMs: 200 })]);
    expect(health?.passed).toBe(true);
    expect(slow).toMatchObject({
      passed: false,
      error: "no answer within 200 ms",
      failures: [{ what: "response", expected: "an answer", actual: "no answer within 200 ms" }],
    });
  });

  it("stops when cancelled", async () => {
    const controller = new AbortController();
    const pending = runSmokeTests(silentUrl, [smokeCase({ timeoutMs: 5000 })], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ kind: "cancelled" });
  });
});
