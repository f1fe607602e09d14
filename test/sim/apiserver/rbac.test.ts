/**
 * Who may do what: client certificates name the user, RBAC bindings grant rights, and everything
 * else is refused with the apiserver's 401/403 wording (authn.ts, authz.ts, rbac-defaults.ts).
 * Each user is a real client certificate signed by the cluster CA, talking through client-node.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientCert, kubeConfigFor, startTestCluster, statusOf, testPki, type TestCluster } from "./testing.js";

let c: TestCluster;
let dev: KubeConfig;

const NS = "team-a";

async function refusal(promise: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await promise;
  } catch (error) {
    return statusOf(error);
  }
  throw new Error("the request was allowed");
}

function canI(kc: KubeConfig, resourceAttributes: Record<string, string>) {
  return kc
    .makeApiClient(AuthorizationV1Api)
    .createSelfSubjectAccessReview({ body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes } } });
}

/** A bare HTTPS GET, optionally with a client certificate or a bearer token. */
function get(
  path: string,
  options: { cert?: string; key?: string; token?: string } = {},
): Promise<{ status: number; body: { message?: string; reason?: string } }> {
  return new Promise((resolve, reject) => {
    const headers = options.token ? { Authorization: `Bearer ${options.token}` } : undefined;
    request(`${c.cp.url}${path}`, { ca: testPki().ca, cert: options.cert, key: options.key, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message?: string } }));
    })
      .on("error", reject)
      .end();
  });
}

beforeAll(async () => {
  c = await startTestCluster();
  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  // What a shared cluster's admin gives a developer: `edit` in their own namespace, nothing cluster-wide.
  await c.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace: NS,
    body: {
      metadata: { name: "dev-edit" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "dev" }],
    },
  });
  dev = kubeConfigFor(c.cp.url, testPki().ca, clientCert("dev", ["developers"]));
});

afterAll(async () => {
  await c?.close();
});

describe("authentication", () => {
  test("no credentials is the anonymous user: /version answers, /api is forbidden", async () => {
    expect((await get("/version")).status).toBe(200);
    expect(await get("/api")).toEqual({
      status: 403,
      body: expect.objectContaining({ reason: "Forbidden", message: 'forbidden: User "system:anonymous" cannot get path "/api"' }),
    });
  });

  test("a bearer token, or a certificate another CA signed, is 401 Unauthorized", async () => {
    expect(await get("/api", { token: "simulated" })).toEqual({
      status: 401,
      body: expect.objectContaining({ reason: "Unauthorized", message: "Unauthorized" }),
    });
    expect((await get("/api", selfSigned())).status).toBe(401);
  });
});

/** A WebSocket upgrade request, as client-node's PortForward sends it; the answer when it is refused. */
function upgrade(path: string, client: { cert: string; key: string }): Promise<{ status: number; body: { message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.cp.url}${path}`, {
      ca: testPki().ca,
      ...client,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "v4.channel.k8s.io",
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message?: string } }));
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: {} });
    });
    req.on("error", reject);
    req.end();
  });
}

/** A system:masters certificate that no cluster CA signed (self-signed with openssl). */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "mlkube-sim-other-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "k"),
        "-out",
        join(dir, "c"),
        "-days",
        "1",
        "-subj",
        "/CN=kubernetes-admin/O=system:masters",
      ],
      { stdio: "pipe" },
    );
    return { cert: readFileSync(join(dir, "c"), "utf8"), key: readFileSync(join(dir, "k"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("a user with edit in one namespace", () => {
  test("works in that namespace: pods, events, its own Namespace object", async () => {
    const core = dev.makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace: NS })).resolves.toMatchObject({ items: [] });
    await expect(core.listNamespacedEvent({ namespace: NS })).resolves.toMatchObject({ items: [] });
    await expect(core.readNamespace({ name: NS })).resolves.toMatchObject({ metadata: { name: NS } });
    await expect(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "settings" } } })).resolves.toMatchObject({
      metadata: { name: "settings" },
    });
  });

  test("is refused elsewhere, with the apiserver's wording", async () => {
    const core = dev.makeApiClient(CoreV1Api);
    expect(await refusal(core.listPodForAllNamespaces())).toMatchObject({
      code: 403,
      reason: "Forbidden",
      message: 'pods is forbidden: User "dev" cannot list resource "pods" in API group "" at the cluster scope',
    });
    expect(await refusal(core.listNamespacedPod({ namespace: "default" }))).toMatchObject({
      code: 403,
      message: 'pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "default"',
    });
    expect(await refusal(core.readNamespace({ name: "default" }))).toMatchObject({
      code: 403,
      message: 'namespaces "default" is forbidden: User "dev" cannot get resource "namespaces" in API group "" in the namespace "default"',
      details: { name: "default", kind: "namespaces" },
    });
    expect(await refusal(core.listNode())).toMatchObject({
      code: 403,
      message: 'nodes is forbidden: User "dev" cannot list resource "nodes" in API group "" at the cluster scope',
    });
    // edit grants no RBAC object (admin does).
    expect(await refusal(dev.makeApiClient(RbacAuthorizationV1Api).listNamespacedRole({ namespace: NS }))).toMatchObject({
      code: 403,
      message:
        'roles.rbac.authorization.k8s.io is forbidden: User "dev" cannot list resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "team-a"',
    });
  });

  test("can ask what it may do: SelfSubjectAccessReview answers per right, naming the binding", async () => {
    expect((await canI(dev, { verb: "list", resource: "events", namespace: NS })).status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "dev-edit/team-a" of ClusterRole "edit" to User "dev"',
    });
    expect((await canI(dev, { verb: "list", resource: "pods" })).status).toEqual({ allowed: false });
    expect((await canI(dev, { verb: "list", resource: "events", namespace: "default" })).status).toEqual({ allowed: false });
  });

  test("port-forwards to its namespace's pods, not to others' (the upgrade request is authorized first)", async () => {
    // A WebSocket port-forward is a GET: RBAC asks for "get" on pods/portforward (edit grants it).
    expect((await canI(dev, { verb: "get", resource: "pods", subresource: "portforward", namespace: NS })).status).toMatchObject({ allowed: true });
    const refused = await upgrade(`/api/v1/namespaces/default/pods/some-pod/portforward?ports=80`, clientCert("dev", ["developers"]));
    expect(refused).toEqual({
      status: 403,
      body: expect.objectContaining({
        message: 'pods "some-pod" is forbidden: User "dev" cannot get resource "pods/portforward" in API group "" in the namespace "default"',
      }),
    });
    // Allowed through to the handler, which finds no such pod.
    expect((await upgrade(`/api/v1/namespaces/${NS}/pods/some-pod/portforward?ports=80`, clientCert("dev", ["developers"]))).status).toBe(404);
  });
});

describe("bindings", () => {
  test("a binding to a missing role grants nothing and says why; groups and resourceNames are matched", async () => {
    const rbac = c.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: "dangling" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ghost" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "developers" }],
      },
    });
    expect((await canI(dev, { verb: "list", resource: "secrets", namespace: NS })).status).toMatchObject({ allowed: true });
    expect((await canI(dev, { verb: "escalate", resource: "roles", group: "rbac.authorization.k8s.io", namespace: NS })).status).toEqual({
      allowed: false,
      reason: 'RBAC: role.rbac.authorization.k8s.io "ghost" not found',
    });
    await rbac.createNamespacedRole({
      namespace: NS,
      body: { metadata: { name: "one-secret" }, rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["model-key"], verbs: ["get"] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "one-secret" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "reader" }],
      },
    });
    const reader = kubeConfigFor(c.cp.url, testPki().ca, clientCert("reader"));
    expect((await canI(reader, { verb: "get", resource: "secrets", name: "model-key", namespace: NS })).status).toMatchObject({ allowed: true });
    expect((await canI(reader, { verb: "get", resource: "secrets", name: "other", namespace: NS })).status).toMatchObject({ allowed: false });
    expect((await canI(reader, { verb: "list", resource: "secrets", namespace: NS })).status).toMatchObject({ allowed: false });
  });

  test("roleRef cannot change, and a ClusterRoleBinding may not name a Role", async () => {
    const rbac = c.kc.makeApiClient(RbacAuthorizationV1Api);
    const binding = await rbac.readNamespacedRoleBinding({ namespace: NS, name: "dev-edit" });
    const moved = await refusal(
      rbac.replaceNamespacedRoleBinding({ namespace: NS, name: "dev-edit", body: { ...binding, roleRef: { ...binding.roleRef, name: "admin" } } }),
    );
    expect(moved).toMatchObject({ code: 422, message: expect.stringContaining("cannot change roleRef") });
    const cluster = await refusal(
      rbac.createClusterRoleBinding({
        body: { metadata: { name: "wrong" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "one-secret" }, subjects: [] },
      }),
    );
    expect(cluster).toMatchObject({ code: 422, message: expect.stringContaining('roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"') });
  });
});
