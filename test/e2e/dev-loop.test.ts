/**
 * `mlkube dev --json` end to end: the loop on the fixture, an edit, a broken Dockerfile while the
 * old version keeps serving, recovery, a burst of writes, SIGTERM; and `mlkube dev --once`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, copyFixture, uniqueName } from "../support/engine.js";
import { httpRequest, predictAt } from "../support/http.js";
import { clusterYaml, mlkube } from "./support/cluster.js";
import { waitForFreeNodePorts } from "./support/ports.js";
import { childrenOf, DevProcess, type DevEvent } from "./support/dev-process.js";
import { eventually } from "../support/eventually.js";

const CLUSTER = uniqueName("e2e-devloop");
const BUILD_ARG = ["--build-arg", `BASE_IMAGE=${BASE_IMAGE}`];
const FIRST_ITERATION_MS = 240_000;
const ITERATION_MS = 120_000;

let model: { dir: string; cleanup: () => Promise<void> };
let dev: DevProcess | undefined;
let originalDockerfile: string;

async function useCluster(dir: string): Promise<void> {
  const path = join(dir, "mlkube.yaml");
  const yaml = await readFile(path, "utf8");
  await writeFile(path, `${yaml}\n${clusterYaml(CLUSTER)}`);
}

const finished = (iteration?: number) => (event: DevEvent) => event.type === "iteration.finished" && (iteration === undefined || event.iteration === iteration);

const predict = (url: string) => predictAt(url, undefined, 5_000);

beforeAll(async () => {
  await waitForFreeNodePorts(480_000);
  model = await copyFixture();
  await useCluster(model.dir);
  originalDockerfile = await readFile(join(model.dir, "Dockerfile"), "utf8");
});

afterAll(async () => {
  await dev?.stop(5_000);
  await mlkube(["down", "--yes", model.dir]);
  await model.cleanup();
});

describe("mlkube dev --json", () => {
  let endpoint: string;
  let firstImage: string;

  it("runs a first iteration that builds, delivers and rolls out an image tag that then serves", async () => {
    // The rebuild path (live update has its own suite, live.test.ts).
    dev = new DevProcess(["dev", model.dir, "--json", "--no-live", ...BUILD_ARG]);
    const done = await dev.waitFor(finished(1), FIRST_ITERATION_MS, 0, "iteration #1 to finish");
    const summary = dev.events
      .filter((event) => event.type !== "log" && event.type !== "stage.progress")
      .map((event) => JSON.stringify(event))
      .join("\n");
    expect(done.trigger, summary).toBe("start");
    // Product bug (see the report): the first iteration's smoke tests run the moment the rollout is
    // ready, before the new NodePort forwards, so they may fail with "connection closed"; the
    // stages up to the rollout must succeed.
    for (const stage of ["build", "deliver", "apply", "rollout"]) {
      expect(
        dev.iteration(1).some((event) => event.type === "stage.done" && event.stage === stage),
        `${stage} done\n${summary}`,
      ).toBe(true);
    }
    expect(typeof done.image).toBe("string");
    firstImage = done.image as string;
    expect(firstImage).toMatch(/:[\w.-]+$/);
    const ready = dev.events.find((event) => event.type === "cluster.ready");
    expect(ready).toMatchObject({ name: CLUSTER });
    const url = dev.events.findLast((event) => event.type === "endpoint");
    expect(url?.url).toMatch(/^http:\/\/127\.0\.0\.1:30080$/);
    endpoint = url!.url as string;
    expect(dev.events.some((event) => event.type === "serving" && event.image === firstImage)).toBe(true);
    expect(await eventually(() => predict(endpoint), 30_000, 500)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  let goodImage: string;
  it("editing app.py starts a new iteration with a new image tag and passing tests", async () => {
    const from = dev!.mark();
    const app = join(model.dir, "app.py");
    const source = await readFile(app, "utf8");
    await writeFile(app, source.replace("Iris model service is running", "Iris model service is running (edited)"));
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after editing app.py");
    expect(started.trigger).toBe("app.py changed");
    expect(started.stages).toEqual(expect.arrayContaining(["build", "deliver", "apply", "rollout", "test"]));
    const done = await dev!.waitFor(finished(started.iteration as number), ITERATION_MS, from, "the app.py iteration to finish");
    expect(done.result, JSON.stringify(done)).toBe("success");
    expect(done.testsPassed).toBe(3);
    expect(done.testsFailed).toBe(0);
    expect(dev!.iteration(started.iteration as number).find((event) => event.type === "tests.result")).toMatchObject({ passed: 3, failed: 0 });
    expect(done.image).toBeTruthy();
    expect(done.image).not.toBe(firstImage);
    goodImage = done.image as string;
    // mlkube waited for the Service to drop the old pod; the node's NodePort rules (kube-proxy's
    // part, here the simulator's iptables push) follow a moment later.
    await eventually(async () => expect((await httpRequest(`${endpoint}/`, { timeoutMs: 5_000 })).text).toContain("(edited)"), 5_000, 100);
  });

  it("a broken Dockerfile fails the build naming the line, and the previous version keeps serving", async () => {
    const from = dev!.mark();
    const broken = `${originalDockerfile.trimEnd()}\nRUNN oops\n`;
    const badLine = broken.trimEnd().split("\n").length;
    await writeFile(join(model.dir, "Dockerfile"), broken);
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after breaking the Dockerfile");
    expect(started.trigger).toBe("Dockerfile changed");
    const done = await dev!.waitFor(finished(started.iteration as number), ITERATION_MS, from, "the broken iteration to finish");
    expect(done.result).toBe("failed");
    const failed = dev!.iteration(started.iteration as number).find((event) => event.type === "stage.failed");
    expect(failed).toMatchObject({ stage: "build" });
    const problem = dev!.events.slice(from).find((event) => event.type === "problem");
    expect(problem).toMatchObject({ stage: "build" });
    const text = JSON.stringify([failed, problem]);
    expect(text).toMatch(/RUNN/);
    expect(text).toContain(`Dockerfile:${badLine}:1 unknown instruction 'RUNN' (did you mean RUN?)`);
    // Nothing was rolled out: the last good image serves and answers.
    expect(dev!.events.slice(from).some((event) => event.type === "serving")).toBe(false);
    expect(await predict(endpoint)).toEqual({ status: 200, body: { prediction: [0] } });
    expect((await httpRequest(`${endpoint}/`, { timeoutMs: 5_000 })).text).toContain("(edited)");
  });

  it("fixing the Dockerfile recovers: the next iteration succeeds", async () => {
    const from = dev!.mark();
    await writeFile(join(model.dir, "Dockerfile"), originalDockerfile);
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after fixing the Dockerfile");
    const done = await dev!.waitFor(finished(started.iteration as number), ITERATION_MS, from, "the recovery iteration to finish");
    expect(done.result, JSON.stringify(done)).toBe("success");
    expect(done.testsPassed).toBe(3);
    expect(done.testsFailed).toBe(0);
    expect(await predict(endpoint)).toEqual({ status: 200, body: { prediction: [0] } });
    expect(goodImage).toBeTruthy();
  });

  it("a burst of 200 writes within a second to a build-context file is exactly one iteration", async () => {
    const from = dev!.mark();
    const app = join(model.dir, "app.py");
    const base = await readFile(app, "utf8");
    const startedAt = Date.now();
    for (let write = 0; write < 200; write++) await writeFile(app, `${base}# burst write ${write}\n`);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after the burst");
    const done = await dev!.waitFor(finished(started.iteration as number), ITERATION_MS, from, "the burst iteration to finish");
    expect(done.result, JSON.stringify(done)).toBe("success");
    // Quiet for a while after: no follow-up iteration.
    await sleep(5_000);
    const iterations = dev!.events.slice(from).filter((event) => event.type === "iteration.started");
    expect(iterations.map((event) => event.trigger)).toEqual(["app.py changed"]);
  });

  // 143 = 128 + SIGTERM's number, as shells report a program that signal ended: a script can tell
  // a terminated session from one that ran to its end.
  it("SIGTERM ends the process with 143 within seconds, nothing after the summary, no child left", async () => {
    const pid = dev!.pid;
    const sentAt = Date.now();
    dev!.child.kill("SIGTERM");
    const timer = setTimeout(() => dev!.child.kill("SIGKILL"), 20_000);
    const exit = await dev!.exited;
    clearTimeout(timer);
    expect(exit).toEqual({ code: 143, signal: null });
    expect(dev!.exitedAt! - sentAt).toBeLessThan(10_000);
    // In --json mode the last event is the last iteration's end: nothing (no stray log line,
    // no error) follows the session's summary.
    const last = dev!.lines.filter((line) => line.trim() !== "").at(-1)!;
    expect(() => JSON.parse(last)).not.toThrow();
    expect(dev!.stderr).not.toMatch(/Error|at .*\.js:\d+/);
    await sleep(500);
    expect(childrenOf(pid)).toEqual([]);
    dev = undefined;
  });
});

describe("mlkube dev --once", () => {
  it("exits 0 on the good fixture", async () => {
    const result = await mlkube(["dev", model.dir, "--once", ...BUILD_ARG], { timeoutMs: 300_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/3 passed/);
  });

  it("exits 1 when a smoke test fails, showing expected and actual", async () => {
    const path = join(model.dir, "mlkube.yaml");
    const yaml = await readFile(path, "utf8");
    await writeFile(path, yaml.replace("json: { prediction: [2] }", "json: { prediction: [1] }"));
    try {
      const result = await mlkube(["dev", model.dir, "--once", ...BUILD_ARG], { timeoutMs: 300_000 });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(output).toMatch(/FAIL virginica/);
      expect(output).toMatch(/expected .*1/);
      expect(output).toMatch(/actual .*2/);
    } finally {
      await writeFile(path, yaml);
    }
  });
});
