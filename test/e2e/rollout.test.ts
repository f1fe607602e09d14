/**
 * Issue 5 with the simulator (or kind): apply is idempotent, pruning removes only mlkube's objects,
 * each failure kind is reported with its evidence while the previous version keeps serving, and
 * `mlkube logs` prints and follows the pods. One cluster for the file; the tests run in order.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { execFile, spawn } from "node:child_process";
import { promisify, stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRepository, uniqueName } from "../support/engine.js";
import { CLI, mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, modelDir, predict, problemText, type DevRun, type ModelDir } from "./support/model-dir.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const run = promisify(execFile);
const NAME = uniqueName("e2e-rollout").slice(0, 30);
const MODEL = "iris-sklearn";
const FAST = { MLKUBE_SIM_FAST_BACKOFF: "1" };
// Each container's line carries its start time, so a line shown twice and two containers' lines differ.
const CRASH = 'import sys, time\nprint(f"loading weights failed: checksum mismatch (attempt {time.time_ns()})", flush=True)\nsys.exit(3)\n';
/** Prints "VERSION tick N" every 0.3 s from the start: gaps or repeats in N are lost or duplicated lines. */
const ticker = (version: string) =>
  `import threading, time\ndef _tick():\n    n = 0\n    while True:\n        n += 1\n        print(f"${version} tick {n}", flush=True)\n        time.sleep(0.3)\nthreading.Thread(target=_tick, daemon=True).start()\n`;

/** \`mlkube logs -f DIR\` in the background; \`until\` waits for its (colourless) output to satisfy a check. */
function followLogsOf(dir: string) {
  const child = spawn(process.execPath, [CLI, "logs", "-f", dir], { env: { ...process.env, ...FAST } });
  let output = "";
  let exited: number | null | undefined;
  child.stdout.on("data", (chunk: Buffer) => (output = stripVTControlCharacters(output + chunk.toString())));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.on("exit", (code) => (exited = code));
  return {
    get output() {
      return output;
    },
    async until(check: (output: string) => boolean, timeoutMs: number, what: string): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!check(output)) {
        if (exited !== undefined) throw new Error(`logs -f exited (${exited}) while waiting for ${what}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    stop: () => child.kill("SIGINT"),
  };
}

/** The tick numbers each pod printed, in the order \`logs -f\` showed them. */
function ticksByPod(output: string, version: string): Map<string, number[]> {
  const ticks = new Map<string, number[]>();
  for (const match of output.matchAll(new RegExp(`^(\\S+)/${MODEL} \\| ${version} tick (\\d+)$`, "gm"))) {
    ticks.set(match[1]!, [...(ticks.get(match[1]!) ?? []), Number(match[2])]);
  }
  return ticks;
}

const consecutive = (numbers: number[]) => numbers.every((number, index) => index === 0 || number === numbers[index - 1]! + 1);

function rolloutFailure(run: DevRun): { message: string; evidence: string } {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  const failed = run.of("stage.failed").find((event) => event.stage === "rollout");
  expect(failed, run.stdout + run.stderr).toBeDefined();
  return { message: String(failed?.message), evidence: problemText(run, "rollout") };
}

/** The model as a user's own Deployment (same selector as mlkube's), with a sidecar whose image exists nowhere. */
const USER_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${MODEL}
spec:
  replicas: 1
  selector:
    matchLabels: { app.kubernetes.io/name: ${MODEL}, mlkube.dev/model: ${MODEL} }
  template:
    metadata:
      labels: { app.kubernetes.io/name: ${MODEL}, mlkube.dev/model: ${MODEL} }
    spec:
      containers:
        - name: ${MODEL}
          image: registry.example.com/ml/${MODEL}:1.4.2
          ports: [{ containerPort: 5000 }]
          readinessProbe: { httpGet: { path: /, port: 5000 }, periodSeconds: 2 }
        - name: metrics
          image: localhost:5001/metrics-exporter:0.3
          imagePullPolicy: Always
          command: [sleep, infinity]
`;

/** The model as a user's own Deployment whose container takes its settings from a ConfigMap nobody created. */
const USER_DEPLOYMENT_MISSING_CONFIGMAP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${MODEL}
spec:
  replicas: 1
  selector:
    matchLabels: { app.kubernetes.io/name: ${MODEL}, mlkube.dev/model: ${MODEL} }
  template:
    metadata:
      labels: { app.kubernetes.io/name: ${MODEL}, mlkube.dev/model: ${MODEL} }
    spec:
      containers:
        - name: ${MODEL}
          image: registry.example.com/ml/${MODEL}:1.4.2
          ports: [{ containerPort: 5000 }]
          envFrom: [{ configMapRef: { name: iris-settings } }]
`;

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
    await mlkube(["down", "--yes", good.dir]);
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
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "another-models", labels: { "mlkube.dev/model": "another-model" } }, data: { keep: "me too" } },
    });
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "left-over", labels: { "mlkube.dev/model": MODEL } }, data: { stale: "yes" } },
    });
    const before = await apps.readNamespacedDeployment({ name: MODEL, namespace: "default" });

    const second = await devOnce(good.dir);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const after = await apps.readNamespacedDeployment({ name: MODEL, namespace: "default" });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);

    const names = (await core.listNamespacedConfigMap({ namespace: "default" })).items.map((item) => item.metadata?.name);
    expect(names).toContain("not-mlkubes");
    expect(names).toContain("another-models");
    expect(names).not.toContain("left-over");
  });

  it("logs -f attaches to the new pod a rollout creates and lets go of the old one, losing and repeating no line", async () => {
    const first = await devOnce((await variant((model) => model.edit("app.py", /^/, ticker("v1")))).dir);
    expect(first.of("serving"), first.stdout + first.stderr).toHaveLength(1);
    const logs = followLogsOf(good.dir);
    try {
      await logs.until((output) => /v1 tick 3$/m.test(output), 60_000, "v1 ticks");
      const second = await devOnce((await variant((model) => model.edit("app.py", /^/, ticker("v2")))).dir);
      expect(second.of("serving"), second.stdout + second.stderr).toHaveLength(1);
      // The old pod goes once the new one is ready, and only after its grace period: wait for both.
      const v1Gone = (output: string) => [...ticksByPod(output, "v1").keys()].some((pod) => output.includes(`${pod}: pod is gone`));
      await logs.until((output) => v1Gone(output) && /v2 tick 5$/m.test(output), 90_000, "the v1 pod let go and v2 ticks");
    } finally {
      logs.stop();
    }
    const output = logs.output;
    const v1 = ticksByPod(output, "v1");
    const v2 = ticksByPod(output, "v2");
    expect([...v1.keys()], output).toHaveLength(1);
    expect([...v2.keys()], output).toHaveLength(1);
    const [oldPod, oldTicks] = [...v1][0]!;
    const [newPod, newTicks] = [...v2][0]!;
    expect(newPod).not.toBe(oldPod);
    // Every line once, in order: the old pod's up to its end, the new pod's from its first.
    expect(consecutive(oldTicks), oldTicks.join(" ")).toBe(true);
    expect(newTicks[0]).toBe(1);
    expect(consecutive(newTicks), newTicks.join(" ")).toBe(true);
    const lines = output.split("\n");
    const at = (pattern: string) => lines.findIndex((line) => line.startsWith(pattern));
    const lastOld = lines.findLastIndex((line) => line.startsWith(`${oldPod}/${MODEL} | v1 tick`));
    expect(at(`${newPod}: following container ${MODEL}`), output).toBeGreaterThan(-1);
    expect(at(`${newPod}: following container ${MODEL}`)).toBeLessThan(at(`${newPod}/${MODEL} | v2 tick 1`));
    expect(at(`${oldPod}: pod is gone; stopped following container ${MODEL}`)).toBeGreaterThan(lastOld);
  });

  it("logs without -f prints each container's lines, prefixed, and exits 0; --since keeps only the newer ones", async () => {
    // The v2 ticker of the previous test is serving: its first ticks are seconds old by now.
    const all = await mlkube(["logs", good.dir]);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    const ticks = [...ticksByPod(all.stdout, "v2").values()];
    expect(ticks, all.stdout).toHaveLength(1);
    expect(consecutive(ticks[0]!), ticks[0]!.join(" ")).toBe(true);
    expect(all.stdout).not.toContain("following container"); // a one-off print announces nothing

    const recent = await mlkube(["logs", "--since", "2s", good.dir]);
    expect(recent.code, recent.stdout + recent.stderr).toBe(0);
    const recentTicks = [...ticksByPod(recent.stdout, "v2").values()][0] ?? [];
    expect(recentTicks.length, recent.stdout).toBeGreaterThan(0);
    expect(recentTicks.length).toBeLessThan(15); // 0.3 s apart: about 7 in 2 s, never the whole history
    expect(recentTicks[0]).toBeGreaterThan(ticks[0]![0]!);

    const wrong = await mlkube(["logs", "--since", "10x", good.dir]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("--since 10x is not a duration");
  });

  it("CrashLoopBackOff names the exit code and shows the container's last line; the previous version keeps serving", async () => {
    const crashing = await variant((model) => model.edit("app.py", /^/, CRASH));
    const { message, evidence } = rolloutFailure(await devOnce(crashing.dir));
    expect(message).toMatch(/CrashLoopBackOff|crash/i);
    expect(message).toMatch(/exit code 3/);
    expect(evidence).toContain("loading weights failed: checksum mismatch");

    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("logs -f follows the crashing pod through a restart: the new container's lines, and the previous one's last lines on the crash", async () => {
    // The crashing ReplicaSet of the previous test is still there, next to the serving one.
    const crashLine = new RegExp(`^(${MODEL}-[a-z0-9]+-[a-z0-9]+)/${MODEL} \\| loading weights failed: checksum mismatch \\(attempt \\d+\\)$`, "gm");
    const logs = followLogsOf(good.dir);
    try {
      // Two containers' lines: the one running (or last crashed) at attach, and one started later.
      await logs.until(
        (output) => [...output.matchAll(crashLine)].length >= 2 && /restarted \(restart \d+, exit code 3/.test(output),
        120_000,
        "a second container's line and a restart notice",
      );
    } finally {
      logs.stop();
    }
    const output = logs.output;
    const shown = [...output.matchAll(crashLine)].map((match) => match[0]);
    expect(new Set(shown).size, output).toBe(shown.length);
    expect(new Set([...output.matchAll(crashLine)].map((match) => match[1])).size).toBe(1);
    expect(output).toMatch(
      new RegExp(
        `^${MODEL}-[a-z0-9]+-[a-z0-9]+: container ${MODEL} restarted \\(restart \\d+, exit code 3, Error\\); its last lines:\n    loading weights failed`,
        "m",
      ),
    );
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

  it("a rollout that does not finish in time says what it was still waiting for, and does not hang", async () => {
    const slow = await variant(async (model) => {
      await model.edit("mlkube.yaml", "readiness: { path: /,", "readiness: { path: /, initialDelaySeconds: 600,");
      await model.edit("mlkube.yaml", "deploy:\n", "deploy:\n  rolloutTimeoutSeconds: 15\n");
    });
    const started = Date.now();
    const run = await devOnce(slow.dir);
    const { message, evidence } = rolloutFailure(run);
    expect(Date.now() - started).toBeLessThan(150_000);
    expect(message).toMatch(
      new RegExp(`did not finish within 15 s: still waiting for 0 of 1 new replica\\(s\\) ready; pod ${MODEL}-[a-z0-9]+-[a-z0-9]+: running, not ready yet`),
    );
    expect(evidence).toContain("deploy.rolloutTimeoutSeconds");
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("ImagePullBackOff names the container, its image and pull policy, with the pull error; the previous version keeps serving", async () => {
    // The user's own manifests: the model's container gets the built image, the sidecar's image
    // exists in no registry (the node pulls localhost:5001 through the local registry mlkube set up).
    const sidecar = await variant(async (model) => {
      await model.write("deployment.yaml", USER_DEPLOYMENT);
      await model.edit("mlkube.yaml", /^name: iris-sklearn$/m, "name: iris-sklearn\nmanifests: [deployment.yaml]");
    });
    const { message, evidence } = rolloutFailure(await devOnce(sidecar.dir));
    expect(message).toMatch(/ImagePullBackOff|ErrImagePull/);
    expect(message).toContain(`Container metrics of pod ${MODEL}-`);
    expect(message).toContain("cannot get its image localhost:5001/metrics-exporter:0.3");
    expect(message).toContain("pull policy Always");
    // The kubelet's event with containerd's answer (the node tries the local registry, then
    // localhost:5001 itself, where nothing listens inside the node, as on kind).
    expect(evidence).toMatch(
      /Failed: Failed to pull image "localhost:5001\/metrics-exporter:0\.3": failed to pull and unpack image "localhost:5001\/metrics-exporter:0\.3": failed to resolve reference/,
    );
    expect(evidence).toContain("Check that localhost:5001/metrics-exporter:0.3 exists in a registry the node pulls from");
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("CreateContainerConfigError quotes the kubelet and names the missing ConfigMap long before the rollout timeout", async () => {
    const unconfigured = await variant(async (model) => {
      await model.write("deployment.yaml", USER_DEPLOYMENT_MISSING_CONFIGMAP);
      await model.edit("mlkube.yaml", /^name: iris-sklearn$/m, "name: iris-sklearn\nmanifests: [deployment.yaml]");
      await model.edit("mlkube.yaml", "deploy:\n", "deploy:\n  rolloutTimeoutSeconds: 150\n");
    });
    const started = Date.now();
    const { message, evidence } = rolloutFailure(await devOnce(unconfigured.dir));
    // The kubelet retries a failed sync after 10 s (± 50 %): one retry, not the 150 s timeout.
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(message).toMatch(
      new RegExp(`The kubelet cannot configure container ${MODEL} of pod ${MODEL}-[a-z0-9]+-[a-z0-9]+: configmap "iris-settings" not found`),
    );
    expect(evidence).toContain('Failed: Error: configmap "iris-settings" not found');
    expect(evidence).toContain("Create the ConfigMap iris-settings");
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });
});

describeKind("issue 13: a cluster with real timings (a node not Ready yet; the kubelet's 10 s crash-loop back-off)", () => {
  const name = uniqueName("e2e-notready").slice(0, 30);
  let model: ModelDir;

  beforeAll(async () => {
    // No --wait, and a node slower than the 16 s a laptop takes, so it is still NotReady when mlkube
    // deploys: the file's earlier tests left the image's layers in the registry, so the push is quick.
    await run("kind", ["create", "cluster", "--name", name], { env: { ...process.env, MLKUBE_SIM_NODE_READY_AFTER_MS: "50000" } });
    model = await modelDir(name);
  });

  afterAll(async () => {
    await run("kind", ["delete", "cluster", "--name", name], { env: process.env }).catch(() => undefined);
    await model?.cleanup();
  });

  it("the rollout waits while the scheduler names the not-ready taint, and passes once the node is Ready", async () => {
    const dev = await devOnce(model.dir, FAST);
    const output = dev.stdout.slice(-4000) + dev.stderr;
    const rolloutProgress = dev
      .of("stage.progress")
      .filter((event) => event.stage === "rollout")
      .map((event) => String(event.detail));
    expect(
      rolloutProgress.some((detail) =>
        detail.includes("unschedulable (0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: })"),
      ),
      output,
    ).toBe(true);
    expect(dev.of("iteration.finished")[0], output).toMatchObject({ result: "success" });
    expect(dev.code, output).toBe(0);
  });

  it("a crash loop under the kubelet's real back-off (10 s, doubling) is named at its first back-off, not at the rollout timeout", async () => {
    // This cluster's control plane runs without MLKUBE_SIM_FAST_BACKOFF: only mlkube's own env has it here.
    await model.edit("app.py", /^/, CRASH);
    const run = await devOnce(model.dir, FAST);
    const { message, evidence } = rolloutFailure(run);
    expect(message).toMatch(/^Container iris-sklearn of pod iris-sklearn-\S+ keeps crashing: exit code 3 \(Error\), restarted 1 time\(s\)/);
    expect(evidence).toContain("loading weights failed: checksum mismatch");
    const rolloutMs = (run.of("iteration.finished")[0]?.stageMs as Record<string, number> | undefined)?.rollout ?? Infinity;
    expect(rolloutMs, "failed long before the 180 s rollout timeout, within the first 10 s back-off").toBeLessThan(30_000);
  });
});
