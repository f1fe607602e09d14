/**
 * The controllers and the kubelet against the fake node runtime: rolling updates, crash loops,
 * OOM kills, image pull back-off, unschedulable pods, probes, NodePort rules. Timings are the
 * fast ones (see timing.ts), probe periods come from the pod specs below.
 */
import { PatchStrategy, Watch, type KubernetesObject, type V1Deployment, type V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, test } from "vitest";
import { FakeRuntime } from "./fake-runtime.js";
import { eventually, startTestCluster, type TestCluster } from "./testing.js";

let c: TestCluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

async function cluster(
  runtime = new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1", "model:v2"] }),
): Promise<{ c: TestCluster; runtime: FakeRuntime }> {
  c = await startTestCluster({ runtimes: [runtime] });
  return { c, runtime };
}

function deployment(name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "model", image: "model:v1", ports: [{ containerPort: 8080, name: "http" }], ...container }] },
      },
      ...spec,
    },
  } as KubernetesObject;
}

const apply = (t: TestCluster, obj: KubernetesObject) => t.objects.patch(obj, undefined, undefined, "mlkube", true, PatchStrategy.ServerSideApply);

async function onlyPod(t: TestCluster, app: string): Promise<V1Pod | undefined> {
  const pods = await t.core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` });
  return pods.items.length === 1 ? pods.items[0] : undefined;
}

describe("Deployment rollout", () => {
  test("RollingUpdate with maxSurge 1 / maxUnavailable 0 never drops to zero ready replicas", async () => {
    const { c, runtime } = await cluster();
    // Pods become ready 300 ms after they start, like a model loading its weights.
    const startedAt = new Map<string, number>();
    runtime.script = (spec) => {
      startedAt.set(spec.id, Date.now());
      return { http: () => (Date.now() - (startedAt.get(spec.id) ?? 0) > 300 ? 200 : 503) };
    };
    const probe = { readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 1 } };
    const strategy = { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, replicas: 2 };
    await apply(c, deployment("roll", probe, strategy));
    await eventually(
      async () => (await c.apps.readNamespacedDeployment({ name: "roll", namespace: "default" })).status?.readyReplicas === 2,
      15_000,
      "2 ready",
    );

    // Sample every status the Deployment goes through during the update.
    const samples: { ready: number; updated: number; replicas: number; generation?: number; observed?: number }[] = [];
    const ctl = await new Watch(c.kc).watch(
      "/apis/apps/v1/namespaces/default/deployments",
      {},
      (_type, d: V1Deployment) => {
        if (d.metadata?.name === "roll")
          samples.push({
            ready: d.status?.readyReplicas ?? 0,
            updated: d.status?.updatedReplicas ?? 0,
            replicas: d.status?.replicas ?? 0,
            generation: d.metadata?.generation,
            observed: d.status?.observedGeneration,
          });
      },
      () => undefined,
    );
    await apply(c, deployment("roll", { ...probe, image: "model:v2" }, strategy));
    const done = await eventually(
      async () => {
        const d = await c.apps.readNamespacedDeployment({ name: "roll", namespace: "default" });
        const s = d.status;
        return s?.observedGeneration === 2 && s.updatedReplicas === 2 && s.readyReplicas === 2 && s.replicas === 2 && s.availableReplicas === 2 ? d : undefined;
      },
      20_000,
      "rollout complete",
    );
    ctl.abort();
    expect(samples.length).toBeGreaterThan(3);
    expect(samples.every((s) => s.ready >= 2)).toBe(true);
    expect(Math.max(...samples.map((s) => s.replicas))).toBeLessThanOrEqual(3);
    expect(done.metadata?.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(done.status?.conditions?.find((x) => x.type === "Progressing")?.reason).toBe("NewReplicaSetAvailable");
    const rs = await c.apps.listNamespacedReplicaSet({ namespace: "default", labelSelector: "app=roll" });
    expect(rs.items).toHaveLength(2);
    const [newRS] = rs.items.filter((r) => r.spec?.replicas === 2);
    expect(newRS?.metadata?.name).toBe(`roll-${newRS?.metadata?.labels?.["pod-template-hash"]}`);
    expect(newRS?.metadata?.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    const pods = await c.core.listNamespacedPod({ namespace: "default", labelSelector: "app=roll" });
    expect(pods.items.every((p) => p.spec?.containers[0]?.image === "model:v2")).toBe(true);
  });

  test("Recreate stops the old pods before the new ones start", async () => {
    const { c } = await cluster();
    await apply(c, deployment("rec", {}, { strategy: { type: "Recreate" } }));
    await eventually(async () => (await c.apps.readNamespacedDeployment({ name: "rec", namespace: "default" })).status?.readyReplicas === 1, 10_000, "ready");
    const images = new Set<string>();
    let overlap = false;
    const checkOverlap = async () => {
      const pods = await c.core.listNamespacedPod({ namespace: "default", labelSelector: "app=rec" }).catch(() => undefined);
      const live = new Set(
        pods?.items.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp).map((p) => p.spec?.containers[0]?.image ?? ""),
      );
      for (const i of live) images.add(i);
      if (live.size > 1) overlap = true;
    };
    const ctl = await new Watch(c.kc).watch(
      "/api/v1/namespaces/default/pods",
      {},
      () => void checkOverlap(),
      () => undefined,
    );
    await apply(c, deployment("rec", { image: "model:v2" }, { strategy: { type: "Recreate" } }));
    await eventually(
      async () => (await onlyPod(c, "rec"))?.spec?.containers[0]?.image === "model:v2" && (await onlyPod(c, "rec"))?.status?.phase === "Running",
      10_000,
      "new pod",
    );
    ctl.abort();
    expect(overlap).toBe(false);
  });

  test("progressDeadlineSeconds ends in ProgressDeadlineExceeded when pods never become ready", async () => {
    const { c } = await cluster();
    await apply(c, deployment("stuck", { image: "missing:v1" }, { progressDeadlineSeconds: 2 }));
    const d = await eventually(
      async () => {
        const x = await c.apps.readNamespacedDeployment({ name: "stuck", namespace: "default" });
        const p = x.status?.conditions?.find((k) => k.type === "Progressing");
        return p?.reason === "ProgressDeadlineExceeded" ? x : undefined;
      },
      10_000,
      "deadline",
    );
    const p = d.status?.conditions?.find((k) => k.type === "Progressing");
    expect(p?.status).toBe("False");
    expect(p?.message).toMatch(/^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
    expect(d.status?.conditions?.find((k) => k.type === "Available")?.status).toBe("False");
    expect(d.status?.unavailableReplicas).toBe(1);
  });
});

describe("kubelet", () => {
  test("a crashing container reaches CrashLoopBackOff with lastState.terminated", async () => {
    const { c, runtime } = await cluster();
    runtime.script = () => ({ exitAfterMs: 50, exitCode: 3, message: "Traceback: ValueError: bad model", logs: ["loading model", "ValueError: bad model"] });
    await apply(c, deployment("crashy", {}));
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "crashy");
        const s = p?.status?.containerStatuses?.[0];
        return s?.state?.waiting?.reason === "CrashLoopBackOff" ? p : undefined;
      },
      10_000,
      "CrashLoopBackOff",
    );
    const s = pod.status?.containerStatuses?.[0];
    expect(s?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: "Error", message: "Traceback: ValueError: bad model" });
    expect(s?.lastState?.terminated?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(s?.restartCount).toBeGreaterThanOrEqual(1);
    expect(s?.state?.waiting?.message).toMatch(/^back-off \d+(ms|s) restarting failed container=model pod=crashy-[a-z0-9]+-[a-z0-9]{5}_default\(/);
    expect(s?.ready).toBe(false);
    expect(pod.status?.phase).toBe("Running");
    const logs = await c.core.readNamespacedPodLog({ name: pod.metadata?.name ?? "", namespace: "default", previous: true });
    expect(logs).toContain("ValueError: bad model");
    const events = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${pod.metadata?.name},reason=BackOff` });
    expect(events.items[0]?.message).toMatch(/^Back-off restarting failed container model in pod crashy-/);
    expect(events.items[0]?.type).toBe("Warning");
  });

  test("a container over its memory limit is OOMKilled", async () => {
    const { c, runtime } = await cluster();
    runtime.script = () => ({ memoryBytes: 300 * 1024 * 1024 });
    await apply(c, deployment("hungry", { resources: { limits: { memory: "128Mi" } } }));
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "hungry");
        return p?.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === "OOMKilled" ? p : undefined;
      },
      10_000,
      "OOMKilled",
    );
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    expect(pod.spec?.containers[0]?.resources?.requests?.memory).toBe("128Mi");
    const started = [...runtime.containers.values()].map((x) => x.spec.memoryLimitBytes);
    expect(started).toContain(128 * 1024 * 1024);
  });

  test("a missing image gives ErrImagePull, then ImagePullBackOff, with events", async () => {
    const { c } = await cluster();
    await apply(c, deployment("noimage", { image: "nowhere/model:v9" }));
    const reasons = new Set<string>();
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "noimage");
        const w = p?.status?.containerStatuses?.[0]?.state?.waiting;
        if (w?.reason) reasons.add(w.reason);
        return w?.reason === "ImagePullBackOff" ? p : undefined;
      },
      10_000,
      "ImagePullBackOff",
    );
    expect(pod.status?.phase).toBe("Pending");
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/^Back-off pulling image "nowhere\/model:v9": ErrImagePull: /);
    const events = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${pod.metadata?.name}` });
    const messages = events.items.map((e) => `${e.reason}: ${e.message}`);
    expect(messages).toContain('Pulling: Pulling image "nowhere/model:v9"');
    expect(messages.some((m) => m.startsWith('Failed: Failed to pull image "nowhere/model:v9": '))).toBe(true);
    expect(messages).toContain("Failed: Error: ErrImagePull");
    expect(messages).toContain('BackOff: Back-off pulling image "nowhere/model:v9"');
    const logs = await c.core.readNamespacedPodLog({ name: pod.metadata?.name ?? "", namespace: "default" }).catch((e: { body?: string }) => e.body ?? "");
    expect(String(logs)).toContain("is waiting to start");
  });

  test("requests bigger than the node leave the pod Pending with FailedScheduling", async () => {
    const { c } = await cluster(
      new FakeRuntime({ name: "small-control-plane", allocatable: { cpu: "2", memory: "1Gi", pods: "110" } }, { images: ["model:v1"] }),
    );
    await apply(c, deployment("big", { resources: { requests: { memory: "4Gi" } } }));
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "big");
        return p?.status?.conditions?.find((k) => k.type === "PodScheduled")?.reason === "Unschedulable" ? p : undefined;
      },
      10_000,
      "Unschedulable",
    );
    const message = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    expect(pod.status?.phase).toBe("Pending");
    expect(pod.status?.conditions?.find((k) => k.type === "PodScheduled")).toMatchObject({ status: "False", message });
    expect(pod.spec?.nodeName).toBeUndefined();
    const events = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: "reason=FailedScheduling" });
    expect(events.items[0]).toMatchObject({ type: "Warning", message, source: { component: "default-scheduler" } });
  });

  test("kind's system pods are listed with their real requests and fill a small node: 1.5 CPU does not fit on 2", async () => {
    const small = new FakeRuntime({ name: "small-control-plane", allocatable: { cpu: "2", memory: "4Gi", pods: "110" } }, { images: ["model:v1"] });
    const { c } = await cluster(small);
    const system = (await c.core.listNamespacedPod({ namespace: "kube-system" })).items;
    expect(system.map((p) => p.metadata?.name).sort()).toEqual([
      "coredns-5c6dc8b5c4-7jq4x",
      "coredns-5c6dc8b5c4-m2n9d",
      "etcd-small-control-plane",
      expect.stringMatching(/^kindnet-[0-9a-f]{5}$/),
      "kube-apiserver-small-control-plane",
      "kube-controller-manager-small-control-plane",
      "kube-scheduler-small-control-plane",
    ]);
    const cpu = system
      .flatMap((p) => p.spec?.containers ?? [])
      .map((k) => String(k.resources?.requests?.cpu))
      .map((q) => Number(q.replace("m", "")));
    expect(cpu.reduce((a, b) => a + b, 0)).toBe(950);
    expect(system.every((p) => p.status?.phase === "Running")).toBe(true);
    await apply(c, deployment("wide", { resources: { requests: { cpu: "1500m" } } }));
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "wide");
        return p?.status?.conditions?.find((k) => k.type === "PodScheduled")?.reason === "Unschedulable" ? p : undefined;
      },
      10_000,
      "Unschedulable",
    );
    expect(pod.status?.conditions?.find((k) => k.type === "PodScheduled")?.message).toMatch(/^0\/1 nodes are available: 1 Insufficient cpu\./);
    // The kubelet ran none of them: they are only counted.
    expect([...small.containers.keys()].some((id) => id.includes("kube-system"))).toBe(false);
  });

  test("a node starts NotReady with the not-ready taint; pods wait Unschedulable and are bound once it is Ready", async () => {
    c = await startTestCluster({
      runtimes: [new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1"] })],
      tuning: { timing: { nodeReadyAfterMs: 1_500 } },
    });
    const started = Date.now();
    const node = await c.core.readNode({ name: "sim-control-plane" });
    expect(node.spec?.taints).toEqual([{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }]);
    expect(node.status?.conditions?.find((k) => k.type === "Ready")).toMatchObject({
      status: "False",
      reason: "KubeletNotReady",
      message: expect.stringContaining("cni plugin not initialized"),
    });
    await apply(c, deployment("early", {}));
    const waiting = await eventually(
      async () => {
        const p = await onlyPod(c!, "early");
        return p?.status?.conditions?.find((k) => k.type === "PodScheduled")?.reason === "Unschedulable" ? p : undefined;
      },
      5_000,
      "Unschedulable",
    );
    expect(waiting.status?.conditions?.find((k) => k.type === "PodScheduled")?.message).toBe(
      "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    const running = await eventually(async () => ((await onlyPod(c!, "early"))?.spec?.nodeName ? true : undefined), 10_000, "bound");
    expect(running).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    const ready = await c.core.readNode({ name: "sim-control-plane" });
    expect(ready.spec?.taints ?? []).toEqual([]);
    expect(ready.status?.conditions?.find((k) => k.type === "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
  });

  test("a toleration of the not-ready taint lets a pod onto the node before it is Ready", async () => {
    c = await startTestCluster({
      runtimes: [new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1"] })],
      tuning: { timing: { nodeReadyAfterMs: 60_000 } },
    });
    await apply(
      c,
      deployment(
        "tolerant",
        {},
        {
          template: {
            metadata: { labels: { app: "tolerant" } },
            spec: {
              tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" }],
              containers: [{ name: "model", image: "model:v1" }],
            },
          },
        },
      ),
    );
    expect(await eventually(async () => ((await onlyPod(c!, "tolerant"))?.spec?.nodeName ? true : undefined), 5_000, "bound")).toBe(true);
  });

  test("readiness failures emit Unhealthy events and keep the pod out of the NodePort targets", async () => {
    const { c, runtime } = await cluster();
    let healthy = false;
    runtime.script = () => ({ http: () => (healthy ? 200 : 503) });
    await apply(c, deployment("flaky", { readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1, failureThreshold: 1 } }));
    await c.core.createNamespacedService({
      namespace: "default",
      body: { metadata: { name: "flaky" }, spec: { type: "NodePort", selector: { app: "flaky" }, ports: [{ port: 80, targetPort: "http", nodePort: 30090 }] } },
    });
    const events = await eventually(
      async () => {
        const l = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: "reason=Unhealthy" });
        return l.items.length ? l.items : undefined;
      },
      10_000,
      "Unhealthy",
    );
    expect(events[0]?.message).toBe("Readiness probe failed: HTTP probe failed with statuscode: 503");
    expect(events[0]?.involvedObject.fieldPath).toBe("spec.containers{model}");
    const pod = await onlyPod(c, "flaky");
    expect(pod?.status?.conditions?.find((k) => k.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
    await eventually(() => runtime.nodePortSyncs.some((rules) => rules.some((r) => r.nodePort === 30090)), 5000, "rule");
    expect(runtime.nodePortSyncs.at(-1)?.find((r) => r.nodePort === 30090)?.targets).toEqual([]);
    healthy = true;
    await eventually(() => runtime.nodePortSyncs.at(-1)?.find((r) => r.nodePort === 30090)?.targets.length === 1, 5000, "ready target");
    const target = runtime.nodePortSyncs.at(-1)?.find((r) => r.nodePort === 30090)?.targets[0];
    const ready = await onlyPod(c, "flaky");
    expect(target).toEqual({ ip: ready?.status?.podIP, port: 8080 });
    const ep = await c.core.readNamespacedEndpoints({ name: "flaky", namespace: "default" });
    expect(ep.subsets?.[0]?.addresses?.[0]?.ip).toBe(ready?.status?.podIP);
  });

  test("tcpSocket readiness waits for the port to open, whatever HTTP would answer", async () => {
    const { c, runtime } = await cluster();
    let listening = false;
    // A server with no route at /: 404 to HTTP, but its port is open once it listens.
    runtime.script = () => ({ http: () => (listening ? 404 : "refuse") });
    await apply(c, deployment("plain", { readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1, failureThreshold: 1 } }));
    const events = await eventually(
      async () => {
        const l = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: "reason=Unhealthy" });
        return l.items.length ? l.items : undefined;
      },
      10_000,
      "Unhealthy",
    );
    const pod = await onlyPod(c, "plain");
    expect(events[0]?.message).toBe(`Readiness probe failed: dial tcp ${pod?.status?.podIP}:8080: connect: connection refused`);
    expect(pod?.status?.conditions?.find((k) => k.type === "Ready")?.status).toBe("False");
    listening = true;
    await eventually(async () => (await onlyPod(c, "plain"))?.status?.conditions?.find((k) => k.type === "Ready")?.status === "True", 5000, "ready");
  });

  test("liveness failures kill and restart the container", async () => {
    const { c, runtime } = await cluster();
    runtime.script = (_spec, attempt) => ({ http: () => (attempt === 0 ? 500 : 200) });
    await apply(c, deployment("zombie", { livenessProbe: { httpGet: { path: "/live", port: 8080 }, periodSeconds: 1, failureThreshold: 2 } }));
    const pod = await eventually(
      async () => {
        const p = await onlyPod(c, "zombie");
        const s = p?.status?.containerStatuses?.[0];
        return s?.restartCount === 1 && s.state?.running ? p : undefined;
      },
      10_000,
      "restarted",
    );
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    const events = await c.core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${pod.metadata?.name}` });
    const messages = events.items.map((e) => e.message);
    expect(messages).toContain("Liveness probe failed: HTTP probe failed with statuscode: 500");
    expect(messages).toContain("Container model failed liveness probe, will be restarted");
  });

  test("start failures: StartError with exit code 128; runAsNonRoot refusals are CreateContainerConfigError", async () => {
    const { c, runtime } = await cluster();
    runtime.script = (spec) =>
      spec.podName.startsWith("badcmd")
        ? { startError: 'failed to create containerd task: exec: "serve-model": executable file not found in $PATH' }
        : { startError: "container has runAsNonRoot and image will run as root" };
    await apply(c, deployment("badcmd", { command: ["serve-model"] }));
    await apply(c, deployment("rootless", { securityContext: { runAsNonRoot: true } }));
    const bad = await eventually(
      async () => {
        const p = await onlyPod(c, "badcmd");
        return p?.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === "StartError" ? p : undefined;
      },
      10_000,
      "StartError",
    );
    expect(bad.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({
      exitCode: 128,
      message: expect.stringContaining("executable file not found"),
    });
    const root = await eventually(
      async () => {
        const p = await onlyPod(c, "rootless");
        return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError" ? p : undefined;
      },
      10_000,
      "CreateContainerConfigError",
    );
    expect(root.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe("container has runAsNonRoot and image will run as root");
    expect(root.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(root.status?.phase).toBe("Pending");
  });

  test("pod status: IPs, conditions, container statuses and graceful deletion", async () => {
    const { c, runtime } = await cluster();
    runtime.script = () => ({ stopDelayMs: 300, stopExitCode: 0 });
    await c.core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "solo" }, spec: { terminationGracePeriodSeconds: 5, containers: [{ name: "model", image: "model:v1" }] } },
    });
    const pod = await eventually(
      async () => {
        const p = await c.core.readNamespacedPod({ name: "solo", namespace: "default" });
        return p.status?.conditions?.find((k) => k.type === "Ready")?.status === "True" ? p : undefined;
      },
      5000,
      "ready",
    );
    expect(pod.status).toMatchObject({ phase: "Running", hostIP: "172.18.0.2", qosClass: "BestEffort" });
    expect(pod.status?.podIP).toMatch(/^10\.244\./);
    expect(pod.status?.conditions?.map((k) => k.type).sort()).toEqual(["ContainersReady", "Initialized", "PodReadyToStartContainers", "PodScheduled", "Ready"]);
    const s = pod.status?.containerStatuses?.[0];
    expect(s).toMatchObject({ name: "model", ready: true, started: true, restartCount: 0, image: "model:v1" });
    expect(s?.imageID).toMatch(/^sha256:/);
    expect(runtime.containers.has(`k8s_model_solo_default_${pod.metadata?.uid}_0`)).toBe(true);
    const deleted = await c.core.deleteNamespacedPod({ name: "solo", namespace: "default" });
    expect(deleted.metadata?.deletionTimestamp).toBeTruthy();
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(5);
    await eventually(async () => !(await c.core.listNamespacedPod({ namespace: "default" })).items.some((p) => p.metadata?.name === "solo"), 5000, "gone");
    expect(runtime.stopped.some((x) => x.grace === 5)).toBe(true);
    expect(runtime.containers.size).toBe(0);
  });
});
