import { describe, expect, it } from "vitest";
import { judgeRollout, type ContainerSnapshot, type PodSnapshot, type RolloutSnapshot } from "../../src/core/rollout.js";

const NEW = "new5f8d";
const OLD = "old7c2a";

function pod(name: string, changes: Partial<PodSnapshot> = {}, container: Partial<ContainerSnapshot> = {}): PodSnapshot {
  return {
    name,
    templateHash: NEW,
    phase: "Running",
    ready: false,
    deleting: false,
    containers: [{ name: "model", ready: false, restartCount: 0, image: "localhost:5001/iris:abc", running: true, ...container }],
    memoryLimits: { model: "256Mi" },
    imagePullPolicies: { model: "IfNotPresent" },
    ...changes,
  };
}

function snapshot(changes: Partial<RolloutSnapshot> = {}): RolloutSnapshot {
  return {
    desiredReplicas: 1,
    generation: 2,
    observedGeneration: 2,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    replicas: 2,
    newTemplateHash: NEW,
    pods: [pod("iris-old", { templateHash: OLD, ready: true }), pod("iris-new")],
    events: [],
    ...changes,
  };
}

const soon = { elapsedMs: 1_000, timeoutMs: 60_000 };

describe("judging a rollout", () => {
  it("is complete when every new replica is ready and the old ones are gone", () => {
    const verdict = judgeRollout(snapshot({ replicas: 1, pods: [pod("iris-new", { ready: true })] }), soon);
    expect(verdict).toMatchObject({ state: "complete", ready: 1, desired: 1 });
  });

  it("is not complete while the controller has not seen the new generation", () => {
    const verdict = judgeRollout(snapshot({ observedGeneration: 1, replicas: 1, pods: [pod("iris-new", { ready: true })] }), soon);
    expect(verdict).toMatchObject({ state: "progressing", waitingFor: "the Deployment controller to start the new version" });
  });

  it("counts an old ready pod as nothing: progress names the new pod's state", () => {
    expect(judgeRollout(snapshot(), soon)).toEqual({
      state: "progressing",
      ready: 0,
      desired: 1,
      waitingFor: "0 of 1 new replica(s) ready; pod iris-new: running, not ready yet",
    });
    const creating = snapshot({ pods: [pod("iris-new", { phase: "Pending" }, { running: false, waiting: { reason: "ContainerCreating" } })] });
    expect(judgeRollout(creating, soon)).toMatchObject({ waitingFor: "0 of 1 new replica(s) ready; pod iris-new: ContainerCreating" });
  });

  it.each<[string, PodSnapshot, string, RegExp, RegExp]>([
    [
      "crash loop",
      pod(
        "iris-new",
        {},
        {
          running: false,
          restartCount: 3,
          waiting: { reason: "CrashLoopBackOff" },
          lastTerminated: { exitCode: 1, reason: "Error", message: "Traceback...\nKeyError: 'features'" },
          previousLogTail: ["Traceback (most recent call last):", "KeyError: 'features'"],
        },
      ),
      "crash-loop",
      /keeps crashing: exit code 1 \(Error\), restarted 3 time\(s\): KeyError: 'features'/,
      /previous version keeps serving/,
    ],
    [
      "OOM kill",
      pod("iris-new", {}, { running: false, restartCount: 1, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 137, reason: "OOMKilled" } }),
      "oom-killed",
      /was OOMKilled \(memory limit 256Mi\), exit code 137/,
      /raise deploy.resources.limits.memory/,
    ],
  ])("fails fast on %s with the evidence", (_name, failing, kind, message, hint) => {
    const verdict = judgeRollout(snapshot({ pods: [pod("iris-old", { templateHash: OLD, ready: true }), failing] }), soon);
    expect(verdict).toMatchObject({ state: "failed", kind });
    if (verdict.state !== "failed") return;
    expect(verdict.message).toMatch(message);
    expect(verdict.hint).toMatch(hint);
  });

  describe("transient states fail only once they persist (issue 13.2)", () => {
    const pulling = (reason: string) =>
      pod("iris-new", { phase: "Pending" }, { running: false, waiting: { reason, message: 'Back-off pulling image "localhost:5001/iris:abc"' } });
    const pullFailed = (count: number) => [
      { involvedName: "iris-new", reason: "Failed", message: 'Failed to pull image "localhost:5001/iris:abc": not found', count },
    ];

    it("a first failed pull waits for the kubelet's retry; the second fails with the evidence", () => {
      const first = judgeRollout(snapshot({ pods: [pulling("ImagePullBackOff")], events: pullFailed(1) }), soon);
      expect(first).toMatchObject({ state: "progressing", waitingFor: "0 of 1 new replica(s) ready; pod iris-new: ImagePullBackOff" });
      const second = judgeRollout(snapshot({ pods: [pulling("ErrImagePull")], events: pullFailed(2) }), soon);
      expect(second).toMatchObject({
        state: "failed",
        kind: "image-pull",
        message: "Container model of pod iris-new cannot get its image localhost:5001/iris:abc (ErrImagePull, pull policy IfNotPresent).",
        hint: expect.stringMatching(/never :latest/),
      });
      expect(second.state === "failed" && second.evidence).toContain('Failed: Failed to pull image "localhost:5001/iris:abc": not found (x2)');
    });

    it("a failed pull still failing at the timeout is named as such, not as a timeout", () => {
      expect(judgeRollout(snapshot({ pods: [pulling("ImagePullBackOff")], events: pullFailed(1) }), { elapsedMs: 60_000, timeoutMs: 60_000 })).toMatchObject({
        state: "failed",
        kind: "image-pull",
      });
    });

    it("an image name that cannot work fails at once", () => {
      expect(judgeRollout(snapshot({ pods: [pulling("InvalidImageName")] }), soon)).toMatchObject({ state: "failed", kind: "image-pull" });
      expect(judgeRollout(snapshot({ pods: [pulling("ErrImageNeverPull")] }), soon)).toMatchObject({ state: "failed", kind: "image-pull" });
    });

    const unschedulable = (message: string, forMs: number) =>
      pod("iris-new", { phase: "Pending", unschedulableMessage: message, unschedulableForMs: forMs }, { running: false });
    const insufficient = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    const failedScheduling = [{ involvedName: "iris-new", reason: "FailedScheduling", message: insufficient, count: 3 }];

    it("an unschedulable pod waits out the grace period, then fails with the scheduler's events", () => {
      const early = judgeRollout(snapshot({ pods: [unschedulable(insufficient, 2_000)], events: failedScheduling }), soon);
      expect(early).toMatchObject({
        state: "progressing",
        waitingFor: "0 of 1 new replica(s) ready; pod iris-new: unschedulable (0/1 nodes are available: 1 Insufficient memory)",
      });
      const late = judgeRollout(snapshot({ pods: [unschedulable(insufficient, 10_000)], events: failedScheduling }), soon);
      expect(late).toMatchObject({
        state: "failed",
        kind: "unschedulable",
        message: `Pod iris-new cannot be scheduled: ${insufficient}`,
        evidence: [`FailedScheduling: ${insufficient} (x3)`],
        hint: expect.stringMatching(/^Lower deploy\.resources\.requests/),
      });
    });

    it("waits while old pods still hold their requests, however long", () => {
      const terminating = pod("iris-old", { templateHash: OLD, ready: false, deleting: true });
      expect(judgeRollout(snapshot({ pods: [terminating, unschedulable(insufficient, 25_000)] }), soon)).toMatchObject({ state: "progressing" });
    });

    it("waits while the node is not Ready, and says so at the timeout", () => {
      const notReady =
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
      expect(judgeRollout(snapshot({ pods: [unschedulable(notReady, 40_000)] }), soon)).toMatchObject({ state: "progressing" });
      expect(judgeRollout(snapshot({ pods: [unschedulable(notReady, 60_000)] }), { elapsedMs: 60_000, timeoutMs: 60_000 })).toMatchObject({
        state: "failed",
        kind: "unschedulable",
        hint: expect.stringMatching(/^The node is not Ready/),
      });
    });
  });

  it("names the container whose image is missing, with that container's pull policy and the events", () => {
    const withSidecar = pod("iris-new", { phase: "Pending", imagePullPolicies: { model: "IfNotPresent", metrics: "Always" } });
    withSidecar.containers.push({
      name: "metrics",
      ready: false,
      restartCount: 0,
      image: "localhost:5001/exporter:0.3",
      running: false,
      waiting: { reason: "ErrImagePull", message: "failed to pull and unpack image ...: not found" },
    });
    const events = [{ involvedName: "iris-new", reason: "Failed", message: 'Failed to pull image "localhost:5001/exporter:0.3": not found', count: 2 }];
    const verdict = judgeRollout(snapshot({ pods: [pod("iris-old", { templateHash: OLD, ready: true }), withSidecar], events }), soon);
    expect(verdict).toMatchObject({
      state: "failed",
      kind: "image-pull",
      message: "Container metrics of pod iris-new cannot get its image localhost:5001/exporter:0.3 (ErrImagePull, pull policy Always).",
      evidence: ["failed to pull and unpack image ...: not found", 'Failed: Failed to pull image "localhost:5001/exporter:0.3": not found (x2)'],
      hint: expect.stringContaining("Check that localhost:5001/exporter:0.3 exists in a registry the node pulls from"),
    });
  });

  it("shows the crashed container's last log lines as evidence", () => {
    const crashing = pod(
      "iris-new",
      {},
      {
        running: false,
        restartCount: 2,
        waiting: { reason: "CrashLoopBackOff" },
        lastTerminated: { exitCode: 2 },
        previousLogTail: ["loading model.pkl", "FileNotFoundError: model.pkl"],
      },
    );
    const verdict = judgeRollout(snapshot({ pods: [crashing] }), soon);
    expect(verdict).toMatchObject({ evidence: ["loading model.pkl", "FileNotFoundError: model.pkl"] });
  });

  it("ignores a failing pod of the old version", () => {
    const oldCrashing = pod(
      "iris-old",
      { templateHash: OLD },
      { running: false, restartCount: 4, waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 1 } },
    );
    expect(judgeRollout(snapshot({ pods: [oldCrashing, pod("iris-new")] }), soon)).toMatchObject({ state: "progressing" });
  });

  it("at the timeout, blames a failing readiness probe with its events", () => {
    const verdict = judgeRollout(
      snapshot({
        events: [{ involvedName: "iris-new", reason: "Unhealthy", message: "Readiness probe failed: HTTP probe failed with statuscode: 503", count: 12 }],
      }),
      { elapsedMs: 60_000, timeoutMs: 60_000 },
    );
    expect(verdict).toMatchObject({
      state: "failed",
      kind: "readiness",
      message: "The rollout did not finish within 60 s: still waiting for 0 of 1 new replica(s) ready; pod iris-new: running, not ready yet.",
      evidence: ["Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (x12)"],
    });
  });

  it("fails at once when the readiness path answers the same 4xx every time, naming the path and the fix", () => {
    const unhealthy = (message: string, count: number) => ({ involvedName: "iris-new", reason: "Unhealthy", message, count });
    const notFound = unhealthy("Readiness probe failed: HTTP probe failed with statuscode: 404", 3);
    const probing = (events: ReturnType<typeof unhealthy>[]) =>
      snapshot({ pods: [pod("iris-old", { templateHash: OLD, ready: true }), pod("iris-new", {}, { readinessPath: "/health" })], events });
    expect(
      judgeRollout(
        probing([unhealthy('Readiness probe failed: Get "http://10.244.0.5:8080/health": dial tcp 10.244.0.5:8080: connect: connection refused', 4), notFound]),
        soon,
      ),
    ).toEqual({
      state: "failed",
      kind: "readiness-refused",
      message: "Pod iris-new never gets ready: its readiness probe GET /health answers 404 every time (3 probes); the server has no route at /health.",
      evidence: ["Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404 (x3)"],
      hint: "Set deploy.probes.readiness.path in mlkube.yaml (or the readinessProbe in your manifest) to a path the server answers with 200, such as /v2/health/ready (Open Inference Protocol) or /v1/models/NAME (KServe v1); without a path mlkube finds one itself.",
      refused: { pod: "iris-new", path: "/health" },
    });
    // Fewer probes, a server still loading (503), or answers that change: keep waiting.
    expect(judgeRollout(probing([{ ...notFound, count: 2 }]), soon).state).toBe("progressing");
    expect(judgeRollout(probing([unhealthy("Readiness probe failed: HTTP probe failed with statuscode: 503", 9)]), soon).state).toBe("progressing");
    expect(judgeRollout(probing([notFound, unhealthy("Readiness probe failed: HTTP probe failed with statuscode: 401", 3)]), soon).state).toBe("progressing");
  });

  describe("a probed port that refuses while the server's log says it listens elsewhere", () => {
    const refused = (count: number, message = "Readiness probe failed: dial tcp 10.244.0.5:8080: connect: connection refused") => ({
      involvedName: "iris-new",
      reason: "Unhealthy",
      message,
      count,
    });
    const serving = (currentLogTail: string[], events = [refused(3)]) =>
      judgeRollout(snapshot({ pods: [pod("iris-old", { templateHash: OLD, ready: true }), pod("iris-new", {}, { currentLogTail })], events }), soon);
    const FLASK_ON_5000 = [
      " * Serving Flask app 'app'",
      " * Running on all addresses (0.0.0.0)",
      " * Running on http://127.0.0.1:5000",
      " * Running on http://10.244.0.5:5000",
      "Press CTRL+C to quit",
    ];

    it("fails at once on another port, naming it and both ways out", () => {
      expect(serving(FLASK_ON_5000)).toEqual({
        state: "failed",
        kind: "port-closed",
        message:
          "Pod iris-new never gets ready: nothing accepts connections on port 8080 (its readiness probe was refused 3 times), but the server's log says it listens on port 5000.",
        evidence: ["Unhealthy: Readiness probe failed: dial tcp 10.244.0.5:8080: connect: connection refused (x3)", "log: * Running on http://10.244.0.5:5000"],
        hint: "Start the server on port 8080, or set port: 5000 in mlkube.yaml (with your own manifests: the containerPort and the probes' port). The previous version keeps serving.",
      });
    });

    it("fails at once on the loopback address only, with how to bind all addresses", () => {
      const uvicorn = ["INFO:     Started server process [1]", "INFO:     Uvicorn running on http://127.0.0.1:8080 (Press CTRL+C to quit)"];
      const httpProbe = refused(5, 'Readiness probe failed: Get "http://10.244.0.5:8080/": dial tcp 10.244.0.5:8080: connect: connection refused');
      expect(serving(uvicorn, [httpProbe])).toMatchObject({
        kind: "port-closed",
        message:
          "Pod iris-new never gets ready: nothing accepts connections on port 8080 (its readiness probe was refused 5 times); the server's log says it listens on 127.0.0.1:8080 only, which the kubelet's probes and the Service cannot reach.",
        evidence: [`Unhealthy: ${httpProbe.message} (x5)`, "log: INFO:     Uvicorn running on http://127.0.0.1:8080 (Press CTRL+C to quit)"],
      });
    });

    it("keeps waiting for a server that has not said where it listens, or listens on the probed port, or after fewer refusals", () => {
      expect(serving(["loading model.pkl (1.2 GB)"]).state).toBe("progressing");
      expect(serving(["KServe v1 server for model iris listening on port 8080"]).state).toBe("progressing");
      expect(serving(["[INFO] Listening at: http://0.0.0.0:8080 (7)"]).state).toBe("progressing");
      expect(serving(FLASK_ON_5000, [refused(2)]).state).toBe("progressing");
    });
  });

  describe("a container the kubelet cannot configure (CreateContainerConfigError)", () => {
    const unconfigured = (message: string) =>
      pod("iris-new", { phase: "Pending" }, { running: false, waiting: { reason: "CreateContainerConfigError", message } });
    const failedEvent = (message: string, count: number) => ({ involvedName: "iris-new", reason: "Failed", message: `Error: ${message}`, count });

    it("keeps waiting after the kubelet's first attempt: a ConfigMap applied just after may still come", () => {
      const verdict = judgeRollout(
        snapshot({ pods: [unconfigured('configmap "iris-settings" not found')], events: [failedEvent('configmap "iris-settings" not found', 1)] }),
        soon,
      );
      expect(verdict).toMatchObject({ state: "progressing", waitingFor: "0 of 1 new replica(s) ready; pod iris-new: CreateContainerConfigError" });
    });

    it.each([
      [
        'configmap "iris-settings" not found',
        /^Create the ConfigMap iris-settings in the pod's namespace \(kubectl create configmap iris-settings --from-literal=KEY=VALUE -n NAMESPACE, or add it to your manifests\), or fix the reference/,
      ],
      ['secret "hf-token" not found', /^Create the Secret hf-token in the pod's namespace \(kubectl create secret generic hf-token /],
      [
        "couldn't find key threshold in ConfigMap default/iris-settings",
        /^Add the key threshold to ConfigMap default\/iris-settings, or fix the reference \(env\/envFrom in your manifest; optional: true/,
      ],
    ])("fails once the kubelet retried in vain, quoting it: %s", (message, hint) => {
      const verdict = judgeRollout(snapshot({ pods: [unconfigured(message)], events: [failedEvent(message, 2)] }), soon);
      expect(verdict).toMatchObject({
        state: "failed",
        kind: "config",
        message: `The kubelet cannot configure container model of pod iris-new: ${message}.`,
        evidence: [`Failed: Error: ${message} (x2)`],
        hint: expect.stringMatching(hint),
      });
    });

    it("at the timeout, names it even without the kubelet's events", () => {
      const verdict = judgeRollout(snapshot({ pods: [unconfigured("container has runAsNonRoot and image will run as root")] }), {
        elapsedMs: 60_000,
        timeoutMs: 60_000,
      });
      expect(verdict).toMatchObject({
        state: "failed",
        kind: "config",
        message: "The kubelet cannot configure container model of pod iris-new: container has runAsNonRoot and image will run as root.",
        hint: expect.stringContaining("Fix what the kubelet's message names"),
      });
    });
  });

  it("at the timeout without a known cause, says what it was still waiting for", () => {
    expect(judgeRollout(snapshot(), { elapsedMs: 61_000, timeoutMs: 60_000 })).toMatchObject({
      state: "failed",
      kind: "timeout",
      hint: expect.stringContaining("deploy.rolloutTimeoutSeconds"),
    });
  });

  it("reports the controller's progress deadline", () => {
    expect(judgeRollout(snapshot({ progressingReason: "ProgressDeadlineExceeded" }), soon)).toMatchObject({ state: "failed", kind: "deadline" });
  });
});
