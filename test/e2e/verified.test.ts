/**
 * Issue 17.1: "verified" means the new version answered. A model server that starts even when its
 * model file is corrupt (it answers 500 "Model not loaded." instead of crashing) passes its
 * readiness probe, so the rollout completes; the smoke tests must then fail for that version,
 * never pass because the old pod (still alive while it terminates) answered them. Restoring the
 * good model passes again in the very next iteration. Through three replicas with a registry, and
 * through one replica with a whole-image load.
 */
import { copyFile, readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { DevProcess, type DevEvent } from "./support/dev-process.js";
import { devOnce, modelDir, predict, type ModelDir } from "./support/model-dir.js";
import { waitForFreeNodePorts } from "./support/ports.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const ITERATION_MS = 180_000;

/** The fixture's app, changed as many real servers are: a model that fails to load is an error per request, not a crash. */
async function tolerantModelServer(model: ModelDir): Promise<void> {
  await model.edit(
    "app.py",
    /with open\(MODEL_PATH, "rb"\) as model_file:\n {4}model = pickle.load\(model_file\)\n/,
    [
      "try:",
      '    with open(MODEL_PATH, "rb") as model_file:',
      "        model = pickle.load(model_file)",
      "except Exception as error:  # keep serving; every prediction says why",
      '    print(f"could not load the model: {error!r}", flush=True)',
      "    model = None",
      "",
    ].join("\n"),
  );
  await model.edit(
    "app.py",
    "    prediction = model.predict([features])",
    '    if model is None:\n        return jsonify({"error": "Model not loaded."}), 500\n    prediction = model.predict([features])',
  );
}

async function breakModel(model: ModelDir): Promise<void> {
  await copyFile(join(model.dir, "model.pkl"), join(model.dir, "model.pkl.good"));
  await truncate(join(model.dir, "model.pkl"), 200);
}

async function restoreModel(model: ModelDir): Promise<void> {
  await copyFile(join(model.dir, "model.pkl.good"), join(model.dir, "model.pkl"));
}

const finished = (iteration: number) => (event: DevEvent) => event.type === "iteration.finished" && event.iteration === iteration;

describeKind("three replicas, delivery by registry (dev --json)", () => {
  const name = uniqueName("e2e-verified").slice(0, 30);
  let model: ModelDir;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    model = await modelDir(name);
    await model.edit("mlkube.yaml", "replicas: 1", "replicas: 3");
    await tolerantModelServer(model);
    // model.pkl.good is a backup the test writes: not part of the image.
    await model.write(".dockerignore", "model.pkl.good\n");
  });

  afterAll(async () => {
    await dev?.stop(5_000);
    await mlkube(["down", "--yes", model.dir]);
    await model.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("verifies the first version on each of the three new pods and through the URL", async () => {
    dev = new DevProcess(["dev", model.dir, "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { MLKUBE_SIM_FAST_BACKOFF: "1" });
    const done = await dev.waitFor(finished(1), 300_000, 0, "iteration #1 to finish");
    const tests = dev.iteration(1).find((event) => event.type === "tests.result");
    expect(done.result, JSON.stringify(dev.iteration(1))).toBe("success");
    const answeredBy = (tests?.tests as { answeredBy: string[] }[])[0]?.answeredBy ?? [];
    expect(answeredBy).toHaveLength(4);
    expect(answeredBy.at(-1)).toBe("url");
    expect(new Set(answeredBy.slice(0, 3)).size).toBe(3);
  });

  it("a truncated model.pkl fails its own iteration, naming the pods that answered 500", async () => {
    const from = dev!.mark();
    await breakModel(model);
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after truncating model.pkl");
    const id = started.iteration as number;
    const done = await dev!.waitFor(finished(id), ITERATION_MS, from, "the broken model's iteration to finish");
    const events = JSON.stringify(dev!.iteration(id));
    expect(done.result, events).toBe("failed");
    expect(
      dev!.iteration(id).find((event) => event.type === "stage.failed"),
      events,
    ).toMatchObject({ stage: "test" });
    const setosa = (
      dev!.iteration(id).find((event) => event.type === "tests.result")?.tests as {
        name: string;
        passed: boolean;
        failures: { what: string; actual: string }[];
      }[]
    ).find((test) => test.name === "setosa");
    expect(setosa?.passed, events).toBe(false);
    // Every new pod answered 500: each is named; the old pods (still terminating) are not.
    const failingPods = (setosa?.failures ?? [])
      .filter((failure) => failure.what.startsWith("pod ") && failure.what.endsWith(": status"))
      .map((failure) => failure.actual);
    expect(failingPods, events).toEqual(["500", "500", "500"]);
    // The user's own curl agrees with the verdict.
    expect(await predict()).toEqual({ status: 500, body: { error: "Model not loaded." } });
  });

  it("restoring the good model passes in the next iteration", async () => {
    const from = dev!.mark();
    await restoreModel(model);
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration after restoring model.pkl");
    const id = started.iteration as number;
    const done = await dev!.waitFor(finished(id), ITERATION_MS, from, "the restored model's iteration to finish");
    expect(done.result, JSON.stringify(dev!.iteration(id))).toBe("success");
    expect(done).toMatchObject({ testsPassed: 3, testsFailed: 0 });
    expect(await predict()).toEqual({ status: 200, body: { prediction: [0] } });
  });
});

describeKind("one replica, delivery by load (dev --once)", () => {
  const name = uniqueName("e2e-verified-load").slice(0, 30);
  let model: ModelDir;

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    model = await modelDir(name, "  registry: off\n");
    await tolerantModelServer(model);
    await model.write(".dockerignore", "model.pkl.good\n");
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", model.dir]);
    await model.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("--once exits 1 for a broken model that replaced a good one, and 0 once it is restored", async () => {
    const good = await devOnce(model.dir);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.of("iteration.finished")[0]).toMatchObject({ deliveryPath: "load", result: "success" });
    // mlkube test verifies the deployment as dev does: the new version's pod by name, then the URL.
    const tested = await mlkube(["test", model.dir]);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/^pod iris-sklearn-[a-z0-9]+-[a-z0-9]{5} \(through the API server\):\npass {2}setosa /m);
    expect(tested.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+:\npass {2}setosa /m);
    expect(tested.stdout).toMatch(/^3 passed, 0 failed \(iris-sklearn-[a-z0-9]+-[a-z0-9]{5} \+ http:\/\/127\.0\.0\.1:\d+, [\d.]+ s\)$/m);
    expect(tested.stderr).toContain("waiting for Service iris-sklearn to route to the new pods only");

    await breakModel(model);
    const broken = await devOnce(model.dir);
    expect(broken.code, broken.stdout + broken.stderr).toBe(1);
    expect(broken.of("iteration.finished")[0]).toMatchObject({ deliveryPath: "load", result: "failed" });
    expect(broken.of("stage.failed")[0]).toMatchObject({ stage: "test" });
    // Each verdict names who answered: the new pod (by name), then the model's URL.
    const tests = broken.of("tests.result")[0]?.tests as { name: string; passed: boolean; answeredBy?: string[] }[];
    const newPod = tests[0]?.answeredBy?.[0] ?? "";
    expect(newPod, broken.stdout).toMatch(/^iris-sklearn-[a-z0-9]+-[a-z0-9]{5}$/);
    expect(
      tests.find((test) => test.name === "setosa"),
      broken.stdout,
    ).toMatchObject({ passed: false, answeredBy: [newPod, "url"] });
    expect(await readFile(join(model.dir, "model.pkl.good"))).toBeTruthy();
    // The broken version serves now: mlkube test fails it on that pod and through the URL.
    const testedBroken = await mlkube(["test", model.dir, "--json"]);
    expect(testedBroken.code, testedBroken.stdout + testedBroken.stderr).toBe(1);
    const verdict = JSON.parse(testedBroken.stdout) as { passed: boolean; failed: number; tests: { name: string; passed: boolean; answeredBy: string[] }[] };
    expect(verdict).toMatchObject({ passed: false });
    expect(verdict.tests.find((test) => test.name === "setosa")).toMatchObject({ passed: false, answeredBy: [newPod, "url"] });

    await restoreModel(model);
    const restored = await devOnce(model.dir);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(restored.of("iteration.finished")[0]).toMatchObject({ result: "success", testsPassed: 3 });
  });
});
