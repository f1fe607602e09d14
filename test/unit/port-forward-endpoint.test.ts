/**
 * The port-forward endpoint (contexts whose NodePorts the host cannot reach) against the
 * simulator's control plane on a fake node runtime. The fake pod IPs are not routable, so one
 * local HTTP server plays every pod: it tells the pods apart by the connection the control plane
 * dialed for each, and answers with the image that pod runs, so a reply says which pod was reached.
 */
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { portForwardEndpoint } from "../../src/adapters/cluster/endpoint.js";
import { applyObject, connectKube, type KubeAccess } from "../../src/adapters/kube/client.js";
import { forwardToPod } from "../../src/adapters/kube/pod-forward.js";
import { runSmokeTests } from "../../src/adapters/probe/http.js";
import { replayOnNewVersion, verifyNewVersion } from "../../src/deploy/verify.js";
import type { SmokeCase } from "../../src/core/smoke-cases.js";
import { FakeRuntime } from "../sim/apiserver/fake-runtime.js";
import { eventually, startTestCluster, type TestCluster } from "../sim/apiserver/testing.js";

let c: TestCluster;
let kube: KubeAccess;
let pods: Server;
let podsPort = 0;
const runtime = new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1", "model:v2", "model:v3"] });
const CLOSED_PORT = 9999;
/** Local port of each dialed connection -> the pod IP it was meant for. */
const dialedIp = new Map<number, string>();
let dials = 0;

beforeAll(async () => {
  pods = createServer((req, res) => {
    const ip = dialedIp.get(req.socket.remotePort ?? 0);
    const container = [...runtime.containers.values()].find((candidate) => candidate.state.ip === ip && candidate.state.status === "running");
    res.end(container?.spec.image ?? "no pod");
  });
  await new Promise<void>((resolve) => pods.listen(0, "127.0.0.1", resolve));
  podsPort = (pods.address() as { port: number }).port;
  // Old pods take a while to stop, so the replaced pod still answers after the rollout.
  runtime.script = () => ({ stopDelayMs: 4_000, stopExitCode: 0 });
  c = await startTestCluster({
    runtimes: [runtime],
    tuning: {
      dialPod: (ip, port) => {
        dials++;
        // Nothing listens on CLOSED_PORT in the pod (a server still starting): the dial is refused.
        const socket = connect({ host: "127.0.0.1", port: port === CLOSED_PORT ? 1 : podsPort });
        socket.on("connect", () => dialedIp.set(socket.localPort ?? 0, ip));
        return socket;
      },
    },
  });
  kube = connectKube("kind-sim", c.kc);
  await applyObject(kube, service());
});
afterAll(async () => {
  await c?.close();
  pods?.close();
});

function service(): V1Service & { apiVersion: string; kind: string } {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: "http", nodePort: 30080 }] },
  };
}

function deployment(image: string): V1Deployment & { apiVersion: string; kind: string } {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "model", image, ports: [{ name: "http", containerPort: 8080 }] }] } },
    },
  };
}

async function rolledOut(image: string): Promise<void> {
  await applyObject(kube, deployment(image));
  await eventually(
    async () => {
      const list = await c.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" });
      return list.items.some(
        (pod) => pod.spec?.containers[0]?.image === image && pod.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"),
      );
    },
    15_000,
    `a ready pod running ${image}`,
  );
}

/** GET through the endpoint; fetch keeps the connection alive between calls, as the smoke tests do. */
async function answer(url: string): Promise<string> {
  return eventually(async () => (await fetch(url)).text(), 10_000, `an answer from ${url}`);
}

test("forwards 127.0.0.1 to the ready pod, and to the new pod after a rollout and refresh()", async () => {
  await rolledOut("model:v1");
  const endpoint = await portForwardEndpoint(kube, { namespace: "default", name: "web", nodePort: 30080 });
  try {
    expect(endpoint.via).toBe("port-forward");
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await answer(endpoint.url)).toBe("model:v1");
    expect(await answer(endpoint.url)).toBe("model:v1");

    await rolledOut("model:v2");
    // The v1 pod is still terminating and answering: a kept-alive connection would reach it.
    const before = dials;
    await endpoint.refresh();
    expect(await answer(endpoint.url)).toBe("model:v2");
    expect(dials).toBeGreaterThan(before);
  } finally {
    await endpoint.close();
  }
});

/** One GET / case expecting the body to be `image`: which version answered is in the body. */
function answeredBy(image: string): SmokeCase {
  return {
    name: "version",
    source: "test",
    method: "GET",
    path: "/",
    headers: {},
    body: undefined,
    repeat: 1,
    expect: { status: 200, tolerance: 0, text: image },
    timeoutMs: 5_000,
  };
}

test("verification tests each new pod through the API server, then the URL once the Service routes to new pods alone", async () => {
  await rolledOut("model:v3");
  const endpoint = await portForwardEndpoint(kube, { namespace: "default", name: "web", nodePort: 30080 });
  try {
    await endpoint.refresh();
    const runs = await verifyNewVersion(kube, { namespace: "default", deployment: "web", service: "web", url: endpoint.url }, [answeredBy("model:v3")], {
      routeLagMs: 0,
    });
    expect(runs.map((run) => run.via)).toEqual(["pod", "url"]);
    expect(runs[0]?.target).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}$/);
    expect(runs.every((run) => run.results[0]?.passed)).toBe(true);
  } finally {
    await endpoint.close();
  }
});

test("a forward the API server refuses names its cause instead of a closed connection", async () => {
  const forward = await forwardToPod(kube, "default", { pod: "no-such-pod", port: 8080 });
  try {
    const outcome = await fetch(forward.url).then(
      () => "answered",
      (error: unknown) => String((error as { cause?: unknown }).cause ?? error),
    );
    expect(outcome).not.toBe("answered");
    expect(forward.lastError()).toMatch(/404|not found/i);
  } finally {
    await forward.close();
  }
});

test("a pod port where nothing listens yet closes the local connection at once, with the kubelet's reason", async () => {
  await rolledOut("model:v1");
  const [pod] = (await kube.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items.filter(
    (item) => !item.metadata?.deletionTimestamp,
  );
  const forward = await forwardToPod(kube, "default", { pod: pod?.metadata?.name ?? "", port: CLOSED_PORT });
  try {
    // Refused, not left open until the client gives up (live update polls a restarting server this way).
    const outcome = await fetch(forward.url, { signal: AbortSignal.timeout(5_000) }).then(
      () => "answered",
      (error: unknown) => ((error as Error).name === "TimeoutError" ? "hung" : "refused"),
    );
    expect(outcome).toBe("refused");
    expect(forward.lastError()).toMatch(/connection refused/);
  } finally {
    await forward.close();
  }
});

test("the model's URL through a port-forward with no pod to forward to: the smoke tests say why, not that a connection was reset", async () => {
  await applyObject(kube, {
    ...service(),
    metadata: { name: "empty", namespace: "default" },
    spec: { ...service().spec, selector: { app: "nothing" }, ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }] },
  });
  const endpoint = await portForwardEndpoint(kube, { namespace: "default", name: "empty", nodePort: 30081 });
  try {
    const outcome = await runSmokeTests(endpoint.url, [answeredBy("model:v1")], { transportError: endpoint.lastError }).catch(
      (error: unknown) => error as Error,
    );
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe(`The model at ${endpoint.url} does not answer: No ready pod behind Service default/empty to forward to.`);
  } finally {
    await endpoint.close();
  }
});

test("a replay (mlkube reproduce) sends each request once, through the URL, after the Service routes to the new pod alone", async () => {
  await rolledOut("model:v2");
  const endpoint = await portForwardEndpoint(kube, { namespace: "default", name: "web", nodePort: 30080 });
  try {
    await endpoint.refresh();
    const progress: string[] = [];
    const target = { namespace: "default", deployment: "web", service: "web", url: endpoint.url };
    const results = await replayOnNewVersion(kube, target, [answeredBy("model:v2")], { progress: (line) => progress.push(line) });
    expect(results).toEqual([expect.objectContaining({ passed: true, requests: 1 })]);
    expect(progress).toEqual(["waiting for Service web to route to the new pods only", `replaying 1 recorded request(s) against ${endpoint.url}`]);
  } finally {
    await endpoint.close();
  }
});

test("a replay does not run while the Service also routes to a pod of no version of the Deployment", async () => {
  await rolledOut("model:v2");
  const stray = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "stray", namespace: "default", labels: { app: "web" } },
    spec: deployment("model:v1").spec?.template.spec,
  };
  await applyObject(kube, stray as never);
  try {
    await eventually(
      async () =>
        (await c.core.readNamespacedPod({ name: "stray", namespace: "default" })).status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"),
      15_000,
      "the stray pod ready",
    );
    const target = { namespace: "default", deployment: "web", service: "web", url: `http://127.0.0.1:${CLOSED_PORT}` };
    const outcome = await replayOnNewVersion(kube, target, [answeredBy("model:v2")], { routingTimeoutMs: 1_000 }).catch((error: unknown) => error as Error);
    expect(outcome).toMatchObject({
      kind: "rollout",
      message: "Service default/web still sends traffic to stray 1 s after the rollout, so a replay could not tell which version answered.",
    });
  } finally {
    await c.core.deleteNamespacedPod({ name: "stray", namespace: "default", gracePeriodSeconds: 0 });
  }
});
