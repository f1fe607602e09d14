/**
 * `mlkube reproduce` on a shared cluster (issue 13.5): its reads of nodes, pods everywhere, Secrets
 * and events can each be forbidden. Against the simulator's API server with RBAC, as a developer
 * whose Role covers their namespace's pods and nothing else: each read falls back, with one note.
 */
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectKube, type KubeAccess } from "../../src/adapters/kube/client.js";
import { clusterCapacity, existingSecretNames, podHistories } from "../../src/reproduce/observe.js";
import { clientCert, kubeConfigFor, startTestCluster, testPki, type TestCluster } from "../sim/apiserver/testing.js";

const NS = "team-a";
const MACHINE = { cpuCores: 2, memoryBytes: 4 * 1024 ** 3, source: "this machine" };

let cluster: TestCluster;
let admin: KubeAccess;
let developer: KubeAccess;
/** Also reads nodes (a ClusterRole for that alone), yet no pods outside team-a. */
let nodeReader: KubeAccess;

beforeAll(async () => {
  cluster = await startTestCluster();
  await cluster.core.createNamespace({ body: { metadata: { name: NS } } });
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: NS,
    body: { metadata: { name: "pods-only" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NS,
    body: {
      metadata: { name: "dev" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pods-only" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "dev" }],
    },
  });
  await rbac.createClusterRole({ body: { metadata: { name: "nodes-reader" }, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list"] }] } });
  const subject = { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "node-reader" };
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: "node-reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "nodes-reader" },
      subjects: [subject],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NS,
    body: { metadata: { name: "node-reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pods-only" }, subjects: [subject] },
  });
  admin = connectKube("kind-sim", cluster.kc);
  nodeReader = connectKube("kind-sim", kubeConfigFor(cluster.cp.url, testPki().ca, clientCert("node-reader")));
  developer = connectKube("kind-sim", kubeConfigFor(cluster.cp.url, testPki().ca, clientCert("dev")));
});

afterAll(async () => {
  await cluster?.close();
});

function notes(): { lines: string[]; note: (line: string) => void } {
  const lines: string[] = [];
  return { lines, note: (line) => lines.push(line) };
}

describe("reproduce's reads with limited rights", () => {
  it("fits replicas to this machine when nodes may not be listed, and says so", async () => {
    const { lines, note } = notes();
    const capacity = await clusterCapacity(developer, { namespace: NS, selector: { app: "iris" } }, { machine: MACHINE, note });
    expect(capacity).toEqual(MACHINE);
    expect(lines).toEqual(["this user may not list nodes: replicas are fitted to this machine instead"]);
  });

  it("counts only its namespace's pods against the nodes when pods everywhere may not be listed, and says so", async () => {
    const model = { namespace: NS, selector: { app: "iris" } };
    const asAdmin = notes();
    const whole = await clusterCapacity(admin, model, { machine: MACHINE, note: asAdmin.note });
    expect(asAdmin.lines).toEqual([]);
    const limited = notes();
    const partial = await clusterCapacity(nodeReader, model, { machine: MACHINE, note: limited.note });
    expect(limited.lines).toEqual([
      `this user may not list pods in all namespaces: only the requests of pods in namespace ${NS} are counted against the nodes`,
    ]);
    // The node's 4 CPUs, less kube-system's requests for the admin, who sees them.
    expect(partial).toMatchObject({ cpuCores: 4, source: "the local cluster's node" });
    expect(whole.cpuCores).toBeLessThan(4);
  });

  it("takes Secrets it may not list as unknown, so that no placeholder can overwrite one", async () => {
    await expect(existingSecretNames(developer, NS, "iris")).resolves.toBe("unknown");
    await cluster.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "model-key" }, stringData: { key: "x" } } });
    await expect(existingSecretNames(admin, NS, "iris")).resolves.toEqual(["model-key"]);
  });

  it("reports pod histories without readiness failures when events may not be listed, with one note", async () => {
    const { lines, note } = notes();
    await expect(podHistories(developer, { namespace: NS, selector: "app=iris", container: "model" }, note)).resolves.toEqual([]);
    expect(lines).toEqual([`this user may not list events in namespace ${NS}: readiness probe failures are not reported`]);
  });

  it("still fails on what it cannot do without: the model's own pods", async () => {
    const { note } = notes();
    await expect(podHistories(developer, { namespace: "default", selector: "app=iris", container: "model" }, note)).rejects.toMatchObject({ code: 403 });
  });
});
