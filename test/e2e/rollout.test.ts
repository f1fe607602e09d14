/**
 * Issue 5 with the simulator (or kind): apply is idempotent, pruning removes only mlkube's objects,
 * each failure kind is reported with its evidence while the previous version keeps serving, and
 * `mlkube logs` prints and follows the pods. One cluster for the file; the tests run in order.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRepository, uniqueName } from "../support/engine.js";
import { CLI, mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, modelDir, predict, problemText, type DevRun, type ModelDir } from "./support/model-dir.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const NAME = uniqueName("e2e-rollout").slice(0, 30);
const MODEL = "iris-sklearn";
const FAST = { MLKUBE_SIM_FAST_BACKOFF: "1" };
const CRASH = 'import sys\nprint("loading weights failed: checksum mismatch", flush=True)\nsys.exit(3)\n';

function rolloutFailure(run: DevRun): { message: string; evidence: string } {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  const failed = run.of("stage.failed").find((event) => event.stage === "rollout");
  expect(failed, run.stdout + run.stderr).toBeDefined();
  return { message: String(failed?.message), evidence: problemText(run, "rollout") };
}

describeKind("rollout, apply, prune and logs", () => {
  let good: ModelDir;
  const variants: ModelDir[] = [];
  let kube: KubeConfig;

  /** A fresh copy of the fixture on this file's cluster, changed by `change`. */
  async function variant(change: (model: ModelDir) => Promise<void>): Promise<ModelDir> {
    const model = await modelDir(NAME);
    variants.push(model);
    await change(model);
    return model;
  }

  beforeAll(async () => {
    good = await modelDir(NAME);
    const up = await mlkube(["up", good.dir], { env: FAST });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    kube = new KubeConfig();
    kube.loadFromDefault();
    kube.setCurrentContext(`kind-${NAME}`);
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", "--all", good.dir]);
    for (const model of [good, ...variants]) await model.cleanup();
    await removeRepository(MODEL);
  });

  it("apply is idempotent and pruning removes only mlkube's objects", async () => {
    // The first run's rollout must succeed. Its smoke tests are not asserted: right after the
    // first rollout on a new cluster they can hit the node port before it forwards (reported).
    const first = await devOnce(good.dir);
    expect(first.of("serving"), first.stdout + first.stderr).toHaveLength(1);

    const core = kube.makeApiClient(CoreV1Api);
    const apps = kube.makeApiClient(AppsV1Api);
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "not-mlkubes" }, data: { keep: "me" } } });
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "left-over", labels: { "mlkube.dev/model": MODEL } }, data: { stale: "yes" } } });
    const before = await apps.readNamespacedDeployment({ name: MODEL, namespace: "default" });

    const second = await devOnce(good.dir);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const after = await apps.readNamespacedDeployment({ name: MODEL, namespace: "default" });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);

    const names = (await core.listNamespacedConfigMap({ namespace: "default" })).items.map((item) => item.metadata?.name);
    expect(names).toContain("not-mlkubes");
    expect(names).not.toContain("left-over");
  });

  it("CrashLoopBackOff names the exit code and shows the container's last line; the previous version keeps serving", async () => {
    const crashing = await variant((model) => model.edit("app.py", /^/, CRASH));
    const { message, evidence } = rolloutFailure(await devOnce(crashing.dir));
    expect(message).toMatch(/CrashLoopBackOff|crash/i);
    expect(message).toMatch(/exit code 3/);
    expect(evidence).toContain("loading weights failed: checksum mismatch");

    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("logs -f follows the crashing pod through a restart and says so", async () => {
    // The crashing ReplicaSet of the previous test is still there, next to the serving one.
    const child = spawn(process.execPath, [CLI, "logs", "-f", good.dir], { env: { ...process.env, ...FAST } });
    let output = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no restart notice within 120 s:\n${output}`)), 120_000);
        child.stdout.on("data", (chunk: Buffer) => {
          output = stripVTControlCharacters(output + chunk.toString());
          if (/restart/i.test(output) && output.includes("loading weights failed")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", (code) => reject(new Error(`logs -f exited (${code}):\n${output}`)));
      });
    } finally {
      child.kill("SIGINT");
    }
    expect(output).toMatch(new RegExp(`${MODEL}-[a-z0-9]+-[a-z0-9]+: .*restart`, "i"));
    expect(output).toMatch(new RegExp(`/${MODEL} \\| loading weights failed: checksum mismatch`));
  });

  it("OOMKilled names the memory limit", async () => {
    const hungry = await variant(async (model) => {
      await model.edit("mlkube.yaml", "memory: 128Mi", "memory: 32Mi");
      await model.edit("mlkube.yaml", "memory: 512Mi", "memory: 40Mi");
    });
    const { message, evidence } = rolloutFailure(await devOnce(hungry.dir));
    expect(message).toContain("OOMKilled");
    expect(`${message}\n${evidence}`).toContain("40Mi");
  });

  it("an unschedulable pod shows the scheduler's message", async () => {
    const huge = await variant(async (model) => {
      await model.edit("mlkube.yaml", "memory: 128Mi", "memory: 500Gi");
      await model.edit("mlkube.yaml", "memory: 512Mi", "memory: 500Gi");
    });
    const { message, evidence } = rolloutFailure(await devOnce(huge.dir));
    expect(`${message}\n${evidence}`).toContain("Insufficient memory");
  });

  it("a failing readiness probe shows the probe and the Unhealthy event", async () => {
    const unready = await variant(async (model) => {
      await model.edit("mlkube.yaml", "readiness: { path: /,", "readiness: { path: /nonexistent,");
      await model.edit("mlkube.yaml", "deploy:\n", "deploy:\n  rolloutTimeoutSeconds: 20\n");
    });
    const { message, evidence } = rolloutFailure(await devOnce(unready.dir));
    const text = `${message}\n${evidence}`;
    expect(text).toMatch(/readiness/i);
    expect(text).toContain("/nonexistent");
    expect(text).toMatch(/Readiness probe failed.*404/);
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });
});
