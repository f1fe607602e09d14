/**
 * Conformance of the API server stand-in, checked through the real @kubernetes/client-node 1.4:
 * every kind of call mlkube makes, with the status codes, reasons and shapes of a real apiserver.
 */
import { PassThrough } from "node:stream";
import {
  ApisApi,
  AuthorizationV1Api,
  CoreApi,
  Health,
  Log,
  PatchStrategy,
  VersionApi,
  Watch,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FakeRuntime } from "./fake-runtime.js";
import { eventually, startTestCluster, statusOf, type TestCluster } from "./testing.js";

let c: TestCluster;
let runtime: FakeRuntime;
let nsCounter = 0;

beforeAll(async () => {
  runtime = new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1", "model:v2"] });
  c = await startTestCluster({ runtimes: [runtime] });
});
afterAll(async () => {
  await c?.close();
});

async function freshNamespace(): Promise<string> {
  const name = `conf-${++nsCounter}`;
  await c.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

function deployment(
  name: string,
  namespace: string,
  image = "model:v1",
  extra: Partial<V1Deployment["spec"]> = {},
): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "model", image, ports: [{ containerPort: 8080 }] }] } },
      ...extra,
    },
  };
}

async function expectStatus(promise: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await promise;
  } catch (err) {
    const status = statusOf(err);
    status.code ??= (err as { code?: number }).code;
    return status;
  }
  throw new Error("expected the call to fail");
}

const apply = (obj: KubernetesObject, manager = "mlkube", force = true) =>
  c.objects.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

describe("discovery", () => {
  test("core, groups, resources, version and health", async () => {
    const versions = await c.kc.makeApiClient(CoreApi).getAPIVersions();
    expect(versions.versions).toEqual(["v1"]);
    const groups = await c.kc.makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toContain("apps");
    const core = await c.core.getAPIResources();
    const names = core.resources.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(["pods", "pods/log", "pods/status", "services", "namespaces", "nodes", "events", "configmaps", "secrets", "endpoints"]),
    );
    expect(core.resources.find((r) => r.name === "namespaces")?.namespaced).toBe(false);
    const apps = await c.apps.getAPIResources();
    expect(apps.groupVersion).toBe("apps/v1");
    expect(apps.resources.map((r) => r.name)).toEqual(expect.arrayContaining(["deployments", "deployments/status", "replicasets"]));
    const version = await c.kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const health = new Health(c.kc);
    expect(await health.readyz({})).toBe(true);
    expect(await health.livez({})).toBe(true);
  });

  test("kubectl's Table requests get server-side printed rows", async () => {
    const table = (await rawGet(c, "/api/v1/nodes", { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" })) as {
      kind: string;
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[];
    };
    expect(table.kind).toBe("Table");
    expect(table.columnDefinitions.map((x) => x.name).slice(0, 5)).toEqual(["Name", "Status", "Roles", "Age", "Version"]);
    expect(table.rows[0]?.cells.slice(0, 3)).toEqual(["sim-control-plane", "Ready", "control-plane"]);
    expect(table.rows[0]?.object).toMatchObject({ kind: "PartialObjectMetadata", metadata: { name: "sim-control-plane" } });
  });

  test("an unknown path answers a 404 Status", async () => {
    const body = await rawGet(c, "/api/v1/widgets");
    expect(body).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", code: 404 });
  });
});

async function rawGet(cluster: TestCluster, path: string, headers: Record<string, string> = {}): Promise<unknown> {
  const https = await import("node:https");
  const opts: import("node:https").RequestOptions = { headers };
  await cluster.kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    https
      .get(`${cluster.cp.url}${path}`, opts, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve(JSON.parse(text)));
      })
      .on("error", reject);
  });
}

describe("authorization", () => {
  test("a SelfSubjectAccessReview is allowed, as for kind's admin user", async () => {
    const review = await c.kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "list", resource: "events", namespace: "default" } },
      },
    });
    expect(review.status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
    });
    expect(review.spec.resourceAttributes).toEqual({ verb: "list", resource: "events", namespace: "default" });
  });
});

describe("namespaces", () => {
  test("system namespaces exist; create, get, list; duplicates and bad names are refused", async () => {
    const list = await c.core.listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(["default", "kube-system", "kube-public"]));
    const created = await c.core.createNamespace({ body: { metadata: { name: "models" } } });
    expect(created.status?.phase).toBe("Active");
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.labels?.["kubernetes.io/metadata.name"]).toBe("models");
    const read = await c.core.readNamespace({ name: "models" });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const dup = await expectStatus(c.core.createNamespace({ body: { metadata: { name: "models" } } }));
    expect(dup).toMatchObject({ code: 409, reason: "AlreadyExists", message: 'namespaces "models" already exists' });
    const bad = await expectStatus(c.core.createNamespace({ body: { metadata: { name: "Bad_Name" } } }));
    expect(bad.code).toBe(422);
    expect(bad.details?.causes?.[0]?.field).toBe("metadata.name");
    const missing = await expectStatus(c.core.readNamespace({ name: "nope" }));
    expect(missing).toMatchObject({ code: 404, reason: "NotFound", message: 'namespaces "nope" not found' });
  });

  test("creating in a missing namespace is 404 for the namespace", async () => {
    const s = await expectStatus(c.core.createNamespacedConfigMap({ namespace: "ghost", body: { metadata: { name: "x" } } }));
    expect(s).toMatchObject({ code: 404, reason: "NotFound", message: 'namespaces "ghost" not found' });
  });
});

describe("server-side apply", () => {
  test("creates, is idempotent (no new resourceVersion), bumps generation on spec change", async () => {
    const ns = await freshNamespace();
    const first = (await apply(deployment("iris", ns))) as V1Deployment;
    expect(first.metadata?.generation).toBe(1);
    expect(first.spec?.strategy?.rollingUpdate).toEqual({ maxSurge: "25%", maxUnavailable: "25%" });
    expect(first.spec?.template.spec?.containers[0]?.imagePullPolicy).toBe("IfNotPresent");
    expect(first.metadata?.managedFields?.[0]).toMatchObject({ manager: "mlkube", operation: "Apply" });
    // Let the controllers settle so the status stops moving, then re-apply.
    await eventually(async () => (await c.apps.readNamespacedDeployment({ name: "iris", namespace: ns })).status?.availableReplicas === 1, 10_000, "available");
    const before = await c.apps.readNamespacedDeployment({ name: "iris", namespace: ns });
    const again = (await apply(deployment("iris", ns))) as V1Deployment;
    expect(again.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const changed = (await apply(deployment("iris", ns, "model:v2"))) as V1Deployment;
    expect(changed.metadata?.generation).toBe(2);
    expect(Number(changed.metadata?.resourceVersion)).toBeGreaterThan(Number(before.metadata?.resourceVersion));
  });

  test("two managers setting one field conflict with 409 unless forced; force takes ownership", async () => {
    const ns = await freshNamespace();
    await apply(deployment("conflict", ns), "mlkube");
    const other = deployment("conflict", ns);
    (other.spec as { replicas: number }).replicas = 3;
    const s = await expectStatus(apply(other, "kubectl", false));
    expect(s.code).toBe(409);
    expect(s.reason).toBe("Conflict");
    expect(s.message).toBe('Apply failed with 1 conflict: conflict with "mlkube" using apps/v1: .spec.replicas');
    expect(s.details?.causes?.[0]).toMatchObject({ reason: "FieldManagerConflict", field: ".spec.replicas" });
    const forced = (await apply(other, "kubectl", true)) as V1Deployment;
    expect(forced.spec?.replicas).toBe(3);
    const mine = forced.metadata?.managedFields?.find((m) => m.manager === "mlkube");
    expect(JSON.stringify(mine?.fieldsV1)).not.toContain("f:replicas");
    // The same value applied by a second manager is shared ownership, not a conflict.
    const shared = deployment("conflict", ns);
    (shared.spec as { replicas: number }).replicas = 3;
    await apply(shared, "third", false);
  });

  test("a field dropped from the applied configuration is removed", async () => {
    const ns = await freshNamespace();
    const withExtra = deployment("prune", ns);
    (withExtra.metadata as { labels: Record<string, string> }).labels.team = "ml";
    await apply(withExtra);
    const pruned = (await apply(deployment("prune", ns))) as V1Deployment;
    expect(pruned.metadata?.labels).toEqual({ app: "prune" });
  });

  test("apply without a field manager is 422; other patch types merge", async () => {
    const ns = await freshNamespace();
    await apply(deployment("patchy", ns));
    const noManager = await expectStatus(c.objects.patch(deployment("patchy", ns), undefined, undefined, undefined, undefined, PatchStrategy.ServerSideApply));
    expect(noManager.code).toBe(422);
    // client-node's default content type is JSON patch.
    const jp = await c.apps.patchNamespacedDeployment({ name: "patchy", namespace: ns, body: [{ op: "replace", path: "/spec/replicas", value: 2 }] });
    expect(jp.spec?.replicas).toBe(2);
    const mp = await c.apps.patchNamespacedDeployment(
      { name: "patchy", namespace: ns, body: { metadata: { annotations: { note: "x" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(mp.metadata?.annotations?.note).toBe("x");
    const smp = await c.apps.patchNamespacedDeployment(
      { name: "patchy", namespace: ns, body: { spec: { template: { spec: { containers: [{ name: "sidecar", image: "model:v1" }] } } } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.template.spec?.containers.map((x) => x.name)).toEqual(["model", "sidecar"]);
    const wrong = await expectStatus(
      c.apps.patchNamespacedDeployment({ name: "patchy", namespace: ns, body: {} }, setHeaderOptions("Content-Type", "text/plain")),
    );
    expect(wrong).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
  });
});

describe("scale subresource", () => {
  test("read and patch a Deployment's Scale", async () => {
    const ns = await freshNamespace();
    await apply(deployment("scaled", ns));
    const scale = await c.apps.readNamespacedDeploymentScale({ name: "scaled", namespace: ns });
    expect(scale.spec?.replicas).toBe(1);
    expect(scale.status?.selector).toBe("app=scaled");
    const patched = await c.apps.patchNamespacedDeploymentScale(
      { name: "scaled", namespace: ns, body: { spec: { replicas: 3 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(patched.spec?.replicas).toBe(3);
    await eventually(async () => (await c.core.listNamespacedPod({ namespace: ns })).items.length === 3, 5000, "3 pods");
  });
});

describe("validation", () => {
  test("a Deployment without a selector, or with one that does not match, is 422 with causes", async () => {
    const ns = await freshNamespace();
    const noSelector = deployment("nosel", ns);
    delete (noSelector.spec as { selector?: unknown }).selector;
    const a = await expectStatus(c.apps.createNamespacedDeployment({ namespace: ns, body: noSelector as V1Deployment }));
    expect(a.code).toBe(422);
    expect(a.reason).toBe("Invalid");
    expect(a.details?.causes?.map((x) => x.field)).toContain("spec.selector");
    const mismatch = deployment("mismatch", ns);
    (mismatch.spec as { selector: unknown }).selector = { matchLabels: { app: "other" } };
    const b = await expectStatus(apply(mismatch));
    expect(b.code).toBe(422);
    expect(b.details?.causes).toContainEqual(expect.objectContaining({ field: "spec.template.metadata.labels", reason: "FieldValueInvalid" }));
    expect(b.message).toContain('Deployment.apps "mismatch" is invalid');
    expect(b.message).toContain("`selector` does not match template `labels`");
  });

  test("a PUT with a stale resourceVersion is a 409 Conflict", async () => {
    const ns = await freshNamespace();
    const cm = await c.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "cfg" }, data: { a: "1" } } });
    await c.core.replaceNamespacedConfigMap({ name: "cfg", namespace: ns, body: { ...cm, data: { a: "2" } } });
    const s = await expectStatus(c.core.replaceNamespacedConfigMap({ name: "cfg", namespace: ns, body: { ...cm, data: { a: "3" } } }));
    expect(s).toMatchObject({ code: 409, reason: "Conflict" });
    expect(s.message).toContain("the object has been modified");
  });
});

describe("services", () => {
  const svc = (name: string, nodePort?: number): KubernetesObject & Record<string, unknown> => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { type: "NodePort", selector: { app: name }, ports: [{ port: 80, targetPort: 8080, ...(nodePort ? { nodePort } : {}) }] },
  });

  test("ClusterIP and nodePort allocation, pinned ports honoured, conflicts and range errors are 422", async () => {
    const ns = await freshNamespace();
    const dynamic = await c.core.createNamespacedService({ namespace: ns, body: svc("dyn") });
    expect(dynamic.spec?.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(dynamic.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    expect(dynamic.spec?.ports?.[0]?.nodePort).toBeLessThanOrEqual(32767);
    const pinned = (await c.objects.patch(
      { ...svc("pinned", 30080), metadata: { name: "pinned", namespace: ns } },
      undefined,
      undefined,
      "mlkube",
      true,
      PatchStrategy.ServerSideApply,
    )) as unknown as { spec: { ports: { nodePort: number }[] } };
    expect(pinned.spec.ports[0]?.nodePort).toBe(30080);
    const taken = await expectStatus(c.core.createNamespacedService({ namespace: ns, body: svc("other", 30080) }));
    expect(taken.code).toBe(422);
    expect(taken.message).toBe('Service "other" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
    expect(taken.details?.causes?.[0]?.field).toBe("spec.ports[0].nodePort");
    const range = await expectStatus(c.core.createNamespacedService({ namespace: ns, body: svc("low", 80) }));
    expect(range.code).toBe(422);
    expect(range.message).toContain("provided port is not in the valid range. The range of valid ports is 30000-32767");
    // Re-applying without the nodePort keeps the allocated one.
    const reapplied = (await c.objects.patch(
      { ...svc("dyn"), metadata: { name: "dyn", namespace: ns } },
      undefined,
      undefined,
      "mlkube",
      true,
      PatchStrategy.ServerSideApply,
    )) as unknown as { spec: { ports: { nodePort: number }[] } };
    expect(reapplied.spec.ports[0]?.nodePort).toBe(dynamic.spec?.ports?.[0]?.nodePort);
    // Deleting frees the port.
    await c.core.deleteNamespacedService({ name: "pinned", namespace: ns });
    const reused = await c.core.createNamespacedService({ namespace: ns, body: svc("other", 30080) });
    expect(reused.spec?.ports?.[0]?.nodePort).toBe(30080);
  });
});

describe("watch", () => {
  test("pods: ADDED, MODIFIED, DELETED in order, and resuming from a resourceVersion", async () => {
    const ns = await freshNamespace();
    const seen: { type: string; name?: string; rv?: string; labels?: Record<string, string> }[] = [];
    const watch = new Watch(c.kc);
    const list = await c.core.listNamespacedPod({ namespace: ns });
    const ctl = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: KubernetesObject) => seen.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion, labels: obj.metadata?.labels }),
      () => undefined,
    );
    const pod = { metadata: { name: "w1", labels: { app: "w" } }, spec: { containers: [{ name: "model", image: "model:v1" }] } };
    const created = await c.core.createNamespacedPod({ namespace: ns, body: pod });
    await c.core.patchNamespacedPod(
      { name: "w1", namespace: ns, body: { metadata: { labels: { app: "w", step: "2" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await c.core.deleteNamespacedPod({ name: "w1", namespace: ns, gracePeriodSeconds: 0 });
    await eventually(() => seen.some((e) => e.type === "DELETED"), 10_000, "DELETED");
    ctl.abort();
    expect(seen[0]).toMatchObject({ type: "ADDED", name: "w1" });
    expect(seen.at(-1)).toMatchObject({ type: "DELETED", name: "w1" });
    expect(seen.slice(1, -1).every((e) => e.type === "MODIFIED")).toBe(true);
    expect(seen.some((e) => e.labels?.step === "2")).toBe(true);
    const rvs = seen.map((e) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);

    // Resume from the ADDED event's resourceVersion: everything after it is replayed.
    const replay: string[] = [];
    const ctl2 = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion: created.metadata?.resourceVersion },
      (type) => replay.push(type),
      () => undefined,
    );
    await eventually(() => replay.includes("DELETED"), 5000, "replayed DELETED");
    ctl2.abort();
    expect(replay[0]).toBe("MODIFIED");
    expect(replay).not.toContain("ADDED");
  });

  test("without a resourceVersion a watch starts with the current state; selectors apply", async () => {
    const ns = await freshNamespace();
    await c.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "a", labels: { pick: "yes" } } } });
    await c.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "b", labels: { pick: "no" } } } });
    const seen: string[] = [];
    const ctl = await new Watch(c.kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: "pick=yes" },
      (type, obj: KubernetesObject) => seen.push(`${type} ${obj.metadata?.name}`),
      () => undefined,
    );
    await eventually(() => seen.length >= 1, 5000, "initial ADDED");
    // b starts matching: ADDED; a stops matching: DELETED.
    await c.core.patchNamespacedConfigMap(
      { name: "b", namespace: ns, body: { metadata: { labels: { pick: "yes" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await c.core.patchNamespacedConfigMap(
      { name: "a", namespace: ns, body: { metadata: { labels: { pick: "no" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await eventually(() => seen.length >= 3, 5000, "selector transitions");
    ctl.abort();
    expect(seen).toEqual(["ADDED a", "ADDED b", "DELETED a"]);
  });

  test("a resourceVersion older than the history gets an ERROR event with 410 Expired", async () => {
    const small = await startTestCluster({ runtimes: [new FakeRuntime({ name: "tiny-control-plane" })], tuning: { watchHistory: 10 } });
    try {
      for (let i = 0; i < 15; i++) await small.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `cm-${i}` } } });
      const events: { type: string; obj: { code?: number; reason?: string } }[] = [];
      let ended = false;
      await new Watch(small.kc).watch(
        "/api/v1/namespaces/default/configmaps",
        { resourceVersion: "2" },
        (type, obj: { code?: number; reason?: string }) => events.push({ type, obj }),
        () => (ended = true),
      );
      await eventually(() => ended, 5000, "watch end");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: "ERROR", obj: { code: 410, reason: "Expired" } });
    } finally {
      await small.close();
    }
  });
});

describe("pods, logs and events", () => {
  test("list with label and field selectors; bad field selectors are 400", async () => {
    const ns = await freshNamespace();
    await apply(deployment("sel", ns));
    const pods = await eventually(async () => {
      const l = await c.core.listNamespacedPod({ namespace: ns, labelSelector: "app=sel", fieldSelector: "status.phase=Running" });
      return l.items.length === 1 ? l.items : undefined;
    });
    expect(pods[0]?.metadata?.name).toMatch(/^sel-[a-z0-9]+-[a-z0-9]{5}$/);
    expect(pods[0]?.metadata?.labels?.["pod-template-hash"]).toBeTruthy();
    const none = await c.core.listNamespacedPod({ namespace: ns, labelSelector: "app notin (sel)" });
    expect(none.items).toHaveLength(0);
    const byName = await c.core.listNamespacedPod({ namespace: ns, fieldSelector: `metadata.name=${pods[0]?.metadata?.name}` });
    expect(byName.items).toHaveLength(1);
    const bad = await expectStatus(c.core.listNamespacedPod({ namespace: ns, fieldSelector: "spec.image=x" }));
    expect(bad).toMatchObject({ code: 400, reason: "BadRequest" });
  });

  test("logs: current, tailLines, follow, previous", async () => {
    const ns = await freshNamespace();
    runtime.script = (spec, attempt) =>
      spec.podNamespace === ns ? { logs: [`attempt ${attempt} line 1`, `attempt ${attempt} line 2`, `attempt ${attempt} line 3`] } : {};
    await c.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "talker" }, spec: { containers: [{ name: "model", image: "model:v1" }] } } });
    await eventually(async () => (await c.core.readNamespacedPod({ name: "talker", namespace: ns })).status?.phase === "Running", 5000, "running");
    const all = await c.core.readNamespacedPodLog({ name: "talker", namespace: ns });
    expect(all).toBe("attempt 0 line 1\nattempt 0 line 2\nattempt 0 line 3\n");
    const tail = await c.core.readNamespacedPodLog({ name: "talker", namespace: ns, tailLines: 1 });
    expect(tail).toBe("attempt 0 line 3\n");
    const noPrevious = await expectStatus(c.core.readNamespacedPodLog({ name: "talker", namespace: ns, previous: true }));
    expect(noPrevious.code).toBe(400);

    // follow: lines written later arrive on the open stream.
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const ctl = await new Log(c.kc).log(ns, "talker", "model", out, { follow: true, tailLines: 1 });
    const container = runtime.find("talker", "model");
    await eventually(() => text.includes("line 3"), 5000, "first line");
    runtime.write(container?.spec.id ?? "", "live line");
    await eventually(() => text.includes("live line"), 5000, "followed line");
    ctl.abort();
    expect(text).toBe("attempt 0 line 3\nlive line\n");

    // A restart: previous shows attempt 0, current attempt 1.
    runtime.crash(container?.spec.id ?? "", 1);
    await eventually(
      async () => (await c.core.readNamespacedPod({ name: "talker", namespace: ns })).status?.containerStatuses?.[0]?.restartCount === 1,
      5000,
      "restart",
    );
    await eventually(
      async () => (await c.core.readNamespacedPod({ name: "talker", namespace: ns })).status?.containerStatuses?.[0]?.state?.running,
      5000,
      "running again",
    );
    expect(await c.core.readNamespacedPodLog({ name: "talker", namespace: ns, previous: true })).toContain("attempt 0 line 1");
    expect(await c.core.readNamespacedPodLog({ name: "talker", namespace: ns })).toContain("attempt 1 line 1");
    const bad = await expectStatus(c.core.readNamespacedPodLog({ name: "talker", namespace: ns, container: "nope" }));
    expect(bad.code).toBe(400);
    runtime.script = () => ({});
  });

  test("events can be listed by involvedObject.name", async () => {
    const ns = await freshNamespace();
    await apply(deployment("evented", ns));
    const pod = await eventually(async () => (await c.core.listNamespacedPod({ namespace: ns })).items.find((p) => p.status?.phase === "Running"), 5000, "pod");
    const events = await eventually(async () => {
      const l = await c.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${pod.metadata?.name}` });
      return l.items.some((e) => e.reason === "Started") ? l.items : undefined;
    });
    expect(events.every((e) => e.involvedObject.name === pod.metadata?.name)).toBe(true);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["Scheduled", "Pulled", "Created", "Started"]));
    const started = events.find((e) => e.reason === "Started");
    expect(started).toMatchObject({
      type: "Normal",
      count: 1,
      source: { component: "kubelet", host: "sim-control-plane" },
      involvedObject: { kind: "Pod", fieldPath: "spec.containers{model}" },
    });
    expect(started?.firstTimestamp).toBeTruthy();
    const scaling = await c.core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.kind=Deployment,reason=ScalingReplicaSet" });
    expect(scaling.items[0]?.message).toMatch(/^Scaled up replica set evented-[a-z0-9]+ from 0 to 1$/);
  });
});

describe("configmaps, secrets, nodes, deletion", () => {
  test("ConfigMap and Secret CRUD, deleteCollection by label", async () => {
    const ns = await freshNamespace();
    await c.core.createNamespacedConfigMap({
      namespace: "kube-public",
      body: { metadata: { name: "local-registry-hosting" }, data: { "localRegistryHosting.v1": 'host: "localhost:5001"\n' } },
    });
    const hosting = await c.core.readNamespacedConfigMap({ name: "local-registry-hosting", namespace: "kube-public" });
    expect(hosting.data?.["localRegistryHosting.v1"]).toContain("localhost:5001");
    const secret = await c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "s" }, stringData: { token: "abc" } } });
    expect(secret.data?.token).toBe(Buffer.from("abc").toString("base64"));
    expect(secret.type).toBe("Opaque");
    for (const name of ["x", "y", "z"])
      await c.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { group: name === "z" ? "keep" : "drop" } } } });
    await c.core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: "group=drop" });
    const left = await c.core.listNamespacedConfigMap({ namespace: ns });
    expect(left.items.map((x) => x.metadata?.name)).toEqual(["z"]);
    const gone = await expectStatus(c.core.readNamespacedConfigMap({ name: "x", namespace: ns }));
    expect(gone).toMatchObject({ code: 404, message: 'configmaps "x" not found', details: { name: "x", kind: "configmaps" } });
  });

  test("nodes report addresses, architecture, allocatable and Ready", async () => {
    const nodes = await c.core.listNode();
    const node = nodes.items[0];
    expect(node?.metadata?.name).toBe("sim-control-plane");
    expect(node?.status?.addresses).toContainEqual({ type: "InternalIP", address: "172.18.0.2" });
    expect(node?.status?.nodeInfo?.architecture).toBe("amd64");
    expect(node?.status?.allocatable?.memory).toBe("8Gi");
    expect(node?.status?.conditions?.find((x) => x.type === "Ready")?.status).toBe("True");
    expect(node?.metadata?.labels?.["node-role.kubernetes.io/control-plane"]).toBe("");
  });

  test("deleting a Deployment cascades to its ReplicaSets and pods", async () => {
    const ns = await freshNamespace();
    await apply(deployment("doomed", ns, "model:v1", { replicas: 2 }));
    await eventually(
      async () => (await c.core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.status?.phase === "Running").length === 2,
      5000,
      "2 pods",
    );
    await c.apps.deleteNamespacedDeployment({ name: "doomed", namespace: ns, propagationPolicy: "Background" });
    await eventually(async () => (await c.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 0, 5000, "RS gone");
    await eventually(async () => (await c.core.listNamespacedPod({ namespace: ns })).items.length === 0, 10_000, "pods gone");
    // Killing events for the graceful stops.
    const killing = await c.core.listNamespacedEvent({ namespace: ns, fieldSelector: "reason=Killing" });
    expect(killing.items.length).toBe(2);
  });

  test("foreground deletion keeps the owner until its dependents are gone", async () => {
    const ns = await freshNamespace();
    runtime.script = (spec) => (spec.podNamespace === ns ? { stopDelayMs: 1000 } : {});
    await apply(deployment("fg", ns));
    await eventually(async () => (await c.core.listNamespacedPod({ namespace: ns })).items.length === 1, 5000, "pod");
    const res = await c.apps.deleteNamespacedDeployment({ name: "fg", namespace: ns, propagationPolicy: "Foreground" });
    expect(res).toBeTruthy();
    const during = await c.apps.readNamespacedDeployment({ name: "fg", namespace: ns });
    expect(during.metadata?.deletionTimestamp).toBeTruthy();
    expect(during.metadata?.finalizers).toContain("foregroundDeletion");
    await eventually(async () => (await c.apps.listNamespacedDeployment({ namespace: ns })).items.length === 0, 10_000, "deployment gone");
    expect((await c.core.listNamespacedPod({ namespace: ns })).items).toHaveLength(0);
    runtime.script = () => ({});
  });

  test("a deleted namespace is emptied and removed", async () => {
    const ns = await freshNamespace();
    await apply(deployment("inns", ns));
    await eventually(async () => (await c.core.listNamespacedPod({ namespace: ns })).items.length === 1, 5000, "pod");
    await c.core.deleteNamespace({ name: ns });
    await eventually(async () => !(await c.core.listNamespace()).items.some((n) => n.metadata?.name === ns), 10_000, "namespace gone");
  });
});
