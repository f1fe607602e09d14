/**
 * Issue 11: live update. A code edit or a new model file reaches the running pods without a
 * rebuild or a new pod, is verified by the smoke tests on every pod, and a broken edit leaves the
 * version that works serving. Changes live update cannot take are rebuilt, and say why.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { DevProcess, type DevEvent } from "./support/dev-process.js";
import { modelDir, predict, type ModelDir } from "./support/model-dir.js";
import { waitForFreeNodePorts } from "./support/ports.js";
import { connectKube } from "../../src/adapters/kube/client.js";
import { execInPod } from "../../src/adapters/kube/pod-exec.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const ITERATION_MS = 180_000;
const NAMESPACE = "default";

/**
 * One cluster for the file: the second group's first delivery then finds the base image's layers
 * in the registry and on the node (a new cluster would push and pull 900 MB again, about a minute).
 */
const CLUSTER = uniqueName("e2e-live").slice(0, 30);
const models: ModelDir[] = [];

afterAll(async () => {
  if (models[0]) await mlkube(["down", "--yes", models[0].dir]);
  for (const model of models) await model.cleanup();
  await removeRepository("iris-sklearn");
});

const finished = (iteration: number) => (event: DevEvent) => event.type === "iteration.finished" && event.iteration === iteration;

/** The fixture with a directory of static assets the server serves, so a deleted file is visible. */
async function prepareModel(name: string, replicas: number): Promise<ModelDir> {
  const model = await modelDir(name);
  if (replicas !== 1) await model.edit("mlkube.yaml", "replicas: 1", `replicas: ${replicas}`);
  // A model that answers every input with class 0 must still pass: the virginica test checks the status only.
  await model.edit("mlkube.yaml", "expect: { status: 200, json: { prediction: [2] } }", "expect: { status: 200 }");
  await model.edit("Dockerfile", "COPY model.pkl app.py ./", "COPY model.pkl app.py ./\nCOPY assets/ ./assets/");
  await model.edit("app.py", 'return "Iris model service is running\\n"', 'return "Iris model service is running (v1)\\n"');
  await model.edit(
    "app.py",
    '@app.route("/predict", methods=["POST"])',
    '@app.route("/assets/<name>", methods=["GET"])\ndef asset(name):\n    from flask import send_from_directory\n    return send_from_directory(os.path.join(os.path.dirname(__file__), "assets"), name)\n\n\n@app.route("/predict", methods=["POST"])',
  );
  await execFileSync("mkdir", ["-p", join(model.dir, "assets")]);
  await model.write("assets/a.txt", "asset a\n");
  return model;
}

/** A pickled model (trained in the base image, so scikit-learn matches) that answers class 0 to everything. */
function constantModel(path: string): void {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const script =
    "import pickle; from sklearn.dummy import DummyClassifier; m = DummyClassifier(strategy='constant', constant=0).fit([[0, 0, 0, 0], [1, 1, 1, 1]], [0, 2]); pickle.dump(m, open('/out/model.pkl', 'wb'))";
  execFileSync("docker", ["run", "--rm", "-u", `${process.getuid?.() ?? 0}`, "-v", `${dir}:/out`, BASE_IMAGE, "python3", "-c", script], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function get(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:30080${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, text: await response.text() };
}

/** The model's pods, through the API server (what `kubectl get pods` shows). */
async function modelPods(context: string): Promise<string[]> {
  const config = new KubeConfig();
  config.loadFromDefault();
  config.setCurrentContext(context);
  const pods = await config.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: "app.kubernetes.io/name=iris-sklearn" });
  return pods.items.filter((pod) => !pod.metadata?.deletionTimestamp).map((pod) => pod.metadata?.name ?? "");
}

describeKind("live update on three replicas (dev --json)", () => {
  const context = `kind-${CLUSTER}`;
  let model: ModelDir;
  let dev: DevProcess | undefined;

  /** Waits for the iteration the next file change starts, and returns its events once finished. */
  async function nextIteration(what: string): Promise<{ id: number; events: DevEvent[]; done: DevEvent; started: DevEvent }> {
    const from = dev!.mark();
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, `an iteration after ${what}`);
    const id = started.iteration as number;
    const done = await dev!.waitFor(finished(id), ITERATION_MS, from, `the iteration after ${what} to finish`);
    return { id, events: dev!.iteration(id), done, started };
  }

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    model = await prepareModel(CLUSTER, 3);
    models.push(model);
  });

  afterAll(async () => {
    await dev?.stop(5_000);
  });

  it("starts with a build and a rollout", async () => {
    dev = new DevProcess(["dev", model.dir, "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { MLKUBE_SIM_FAST_BACKOFF: "1" });
    const done = await dev.waitFor(finished(1), 300_000, 0, "iteration #1 to finish");
    expect(done.result, JSON.stringify(dev.iteration(1))).toBe("success");
    expect(await get("/")).toEqual({ status: 200, text: "Iris model service is running (v1)\n" });
  });

  it("syncs an app.py edit into the three running pods, restarts them in place and verifies each", async () => {
    const podsBefore = (await modelPods(context)).sort();
    await model.edit("app.py", "running (v1)", "running (v2)");
    const { events, done, started } = await nextIteration("editing app.py");
    const trace = JSON.stringify(events);
    expect(started, trace).toMatchObject({ stages: ["sync", "test"], route: { kind: "sync" } });
    expect(done.result, trace).toBe("success");
    expect(events.find((event) => event.type === "stage.done" && event.stage === "sync")?.detail, trace).toMatch(/^app\.py to 3 pods/);
    // The same pods, not new ones: no rollout happened.
    expect((await modelPods(context)).sort()).toEqual(podsBefore);
    expect(await get("/")).toEqual({ status: 200, text: "Iris model service is running (v2)\n" });
    const tests = events.find((event) => event.type === "tests.result")?.tests as { answeredBy: string[] }[];
    expect(new Set(tests[0]?.answeredBy)).toEqual(new Set([...podsBefore, "url"]));
    // Every pod holds exactly the local file.
    const local = createHash("sha256")
      .update(await readFile(join(model.dir, "app.py")))
      .digest("hex");
    const kube = connectKube(context);
    for (const pod of podsBefore) {
      const sum = await execInPod(kube, { namespace: NAMESPACE, pod }, ["sha256sum", "/app/app.py"]);
      expect(sum.stdout.split(" ")[0], pod).toBe(local);
    }
    expect(dev!.events.filter((event) => event.type === "live").at(-1)).toMatchObject({ ahead: ["app.py"] });
    // Another process sees it too: the pods run a file their image lacks.
    const status = await mlkube(["status", model.dir]);
    expect(status.stdout, status.stderr).toMatch(/^ {4}live: 1 file ahead of image \S+ \(app\.py\)$/m);
  });

  it("syncs a new model.pkl, and the new model's prediction is what the URL answers", async () => {
    constantModel(join(model.dir, "model.pkl"));
    const { events, done, started } = await nextIteration("replacing model.pkl");
    expect(started, JSON.stringify(events)).toMatchObject({ route: { kind: "sync" } });
    expect(done.result, JSON.stringify(events)).toBe("success");
    // The virginica input: class 2 from the trained model before, class 0 from the constant one now.
    expect(await predict(30080, [6.7, 3.0, 5.2, 2.3])).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("adds and deletes a file under a synced directory", async () => {
    await model.write("assets/b.txt", "asset b\n");
    const added = await nextIteration("adding assets/b.txt");
    expect(added.done.result, JSON.stringify(added.events)).toBe("success");
    expect(await get("/assets/b.txt")).toEqual({ status: 200, text: "asset b\n" });
    await rm(join(model.dir, "assets/b.txt"));
    const deleted = await nextIteration("deleting assets/b.txt");
    expect(deleted.started, JSON.stringify(deleted.events)).toMatchObject({ route: { kind: "sync" } });
    expect(deleted.done.result, JSON.stringify(deleted.events)).toBe("success");
    expect((await get("/assets/b.txt")).status).toBe(404);
  });

  it("a broken app.py fails on one pod, which gets its previous files back; the model keeps answering", async () => {
    const before = await readFile(join(model.dir, "app.py"), "utf8");
    await model.write("app.py", `${before}\ndef broken(:\n`);
    const { events, done } = await nextIteration("breaking app.py");
    const problem = dev!.events.filter((event) => event.type === "problem").at(-1);
    const answer = await get("/");
    // Fixed before asserting, so a failure here does not break the tests after it.
    await model.write("app.py", before);
    const fixed = await nextIteration("fixing app.py");
    const trace = JSON.stringify(events);
    expect(done.result, trace).toBe("failed");
    expect(
      events.find((event) => event.type === "stage.failed"),
      trace,
    ).toMatchObject({ stage: "sync" });
    expect(problem?.message as string, trace).toMatch(
      /^The changed files did not start on pod iris-sklearn-\S+: .*Its previous files are back and it answers again\.$/,
    );
    expect((problem?.details as string[]).join("\n"), JSON.stringify(problem)).toContain("SyntaxError");
    expect(answer).toEqual({ status: 200, text: "Iris model service is running (v2)\n" });
    expect(fixed.done.result, JSON.stringify(fixed.events)).toBe("success");
  });

  it("rebuilds a change no sync rule covers, and a Dockerfile change, saying why", async () => {
    // In the build context (not ignored), but no COPY takes it.
    await model.write("settings.cfg", "threshold = 0.5\n");
    const uncovered = await nextIteration("writing settings.cfg");
    expect(uncovered.started, JSON.stringify(uncovered.events)).toMatchObject({
      route: { kind: "rebuild", reason: "settings.cfg is not covered by a sync rule" },
      stages: ["build", "deliver", "apply", "rollout", "test"],
    });
    expect(uncovered.done.result).toBe("success");
    // The rollout put an image with every file on the pods: nothing is ahead of it.
    expect(dev!.events.filter((event) => event.type === "live").at(-1)).toMatchObject({ ahead: [] });
    expect((await mlkube(["status", model.dir])).stdout).not.toContain("live:");

    await model.edit("Dockerfile", "EXPOSE 5000", "EXPOSE 5000\nENV LIVE_TEST=1");
    const dockerfile = await nextIteration("editing the Dockerfile");
    expect(dockerfile.started).toMatchObject({ route: { kind: "rebuild", reason: expect.stringContaining("Dockerfile") } });
    expect(dockerfile.done.result).toBe("success");
  });

  it("a pod replaced after a sync does not serve the old files: the loop rolls out an image that has them", async () => {
    await model.edit("app.py", "running (v2)", "running (v3)");
    const synced = await nextIteration("editing app.py again");
    expect(synced.done.result, JSON.stringify(synced.events)).toBe("success");
    const [victim] = await modelPods(context);
    const config = new KubeConfig();
    config.loadFromDefault();
    config.setCurrentContext(context);
    await config.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: victim!, namespace: NAMESPACE });
    const converged = await nextIteration(`deleting pod ${victim}`);
    // The replacement (a new name) is the pod that started from the image.
    expect(converged.started, JSON.stringify(converged.events)).toMatchObject({
      route: { kind: "rebuild", reason: expect.stringMatching(/^pod iris-sklearn-\S+ started from the image, without app\.py$/) },
    });
    expect((converged.started.route as { reason: string }).reason).not.toContain(victim!);
    expect(converged.done.result).toBe("success");
    for (let attempt = 0; attempt < 10; attempt++) expect(await get("/")).toEqual({ status: 200, text: "Iris model service is running (v3)\n" });
  });
});

describeKind("live update off: an image without tar, and --no-live", () => {
  let model: ModelDir;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    // The same model (Deployment iris-sklearn) on the same cluster, now from this directory.
    model = await prepareModel(CLUSTER, 1);
    models.push(model);
  });

  afterAll(async () => {
    await dev?.stop(5_000);
  });

  it("an image without tar: the first synced change rebuilds instead and says why; live update stays off", async () => {
    await model.edit("Dockerfile", "RUN useradd", "RUN rm -f /bin/tar /usr/bin/tar\nRUN useradd");
    dev = new DevProcess(["dev", model.dir, "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { MLKUBE_SIM_FAST_BACKOFF: "1" });
    expect((await dev.waitFor(finished(1), 300_000, 0, "iteration #1 to finish")).result).toBe("success");

    let from = dev.mark();
    await model.edit("app.py", "running (v1)", "running (v2)");
    const rerouted = await dev.waitFor((event) => event.type === "iteration.rerouted", 60_000, from, "the sync to give up");
    expect(rerouted).toMatchObject({ iteration: 2, reason: "live update needs tar in the image", stages: ["build", "deliver", "apply", "rollout", "test"] });
    expect((await dev.waitFor(finished(2), ITERATION_MS, from, "iteration #2")).result, JSON.stringify(dev.iteration(2))).toBe("success");
    expect(await get("/")).toEqual({ status: 200, text: "Iris model service is running (v2)\n" });

    from = dev.mark();
    await model.edit("app.py", "running (v2)", "running (v3)");
    const started = await dev.waitFor((event) => event.type === "iteration.started", 30_000, from, "iteration #3");
    expect(started).toMatchObject({ route: { kind: "rebuild", reason: "live update is off (live update needs tar in the image)" } });
    expect((await dev.waitFor(finished(3), ITERATION_MS, from, "iteration #3")).result).toBe("success");

    // Issue #15: by now this file built more images of the model than the 3 newest kept: the old
    // ones went after a verified iteration, and the image serving now is still in the engine.
    // (How many remain depends on which passes have run: the rule itself is unit-tested.)
    const pruned = await dev.waitFor((event) => event.type === "images.pruned" && event.where === "engine", 30_000, 0, "old images to be pruned");
    expect(Number(pruned.removed)).toBeGreaterThan(0);
    // Deleted, not only untagged: each build's built name (iris:<tag>) went with its pushed one.
    expect(Number(pruned.reclaimedBytes)).toBeGreaterThan(0);
    const serving = String(dev.events.filter((event) => event.type === "serving").at(-1)?.image);
    expect(execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", serving], { encoding: "utf8" })).toMatch(/^sha256:/);
    // And from the local registry they were pushed to (mlkube started it with deletes on); what
    // serves is still there to pull.
    const fromRegistry = await dev.waitFor(
      (event) => event.type === "images.pruned" && event.where === "registry",
      30_000,
      0,
      "old images to be pruned from the registry",
    );
    expect(Number(fromRegistry.removed)).toBeGreaterThan(0);
    const [, registry, path, tag] = /^([^/]+)\/(.+):([^:]+)$/.exec(serving)!;
    const manifest = await fetch(`http://${registry}/v2/${path}/manifests/${tag}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status).toBe(200);
    await dev.stop(5_000);
    dev = undefined;
  });

  it("--no-live rebuilds every change and says so", async () => {
    dev = new DevProcess(["dev", model.dir, "--json", "--no-live", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { MLKUBE_SIM_FAST_BACKOFF: "1" });
    expect((await dev.waitFor(finished(1), 300_000, 0, "iteration #1 to finish")).result).toBe("success");
    const from = dev.mark();
    await model.edit("app.py", /running \(v\d\)/, "running (v4)");
    const started = await dev.waitFor((event) => event.type === "iteration.started", 30_000, from, "iteration #2");
    expect(started).toMatchObject({
      route: { kind: "rebuild", reason: "live update is off (--no-live)" },
      stages: ["build", "deliver", "apply", "rollout", "test"],
    });
    expect((await dev.waitFor(finished(2), ITERATION_MS, from, "iteration #2")).result).toBe("success");
  });
});
