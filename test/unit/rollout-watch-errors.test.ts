/**
 * waitForRollout when the cluster stops answering mid-wait: it ends at once with the cause, not at
 * the rollout timeout (issue 14: Kubernetes watch errors were swallowed and looped until then).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it, vi } from "vitest";
import { connectKube } from "../../src/adapters/kube/client.js";
import { waitForRollout } from "../../src/adapters/kube/rollout.js";
import { UserError } from "../../src/errors.js";

const DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "iris", namespace: "default", uid: "u1", generation: 2, annotations: { "deployment.kubernetes.io/revision": "2" } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "iris" } },
    template: { metadata: { labels: { app: "iris" } }, spec: { containers: [{ name: "model", image: "iris:2" }] } },
  },
  status: { observedGeneration: 1 },
};

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  vi.useRealTimers();
});

/** An API server that answers the Deployment once and then, for the lists, `listStatus` (or goes away when 0). */
async function apiServer(listStatus: number): Promise<string> {
  server = createServer((request, response) => {
    if (request.url?.startsWith("/apis/apps/v1/namespaces/default/deployments/iris")) {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(DEPLOYMENT));
      if (listStatus === 0) {
        server?.close();
        server?.closeAllConnections();
      }
      return;
    }
    response
      .writeHead(listStatus, { "content-type": "application/json" })
      .end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: listStatus, message: "no" }));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function kubeAt(url: string) {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "c", server: url, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "kind-c", cluster: "c", user: "u" }],
    currentContext: "kind-c",
  });
  return connectKube("kind-c", config);
}

it.each([
  { case: "the API server goes away", listStatus: 0, says: /cannot be reached|lost its connection/ },
  { case: "the Deployment is deleted (404)", listStatus: 404, says: /was deleted while mlkube waited/ },
  { case: "watching is forbidden (403)", listStatus: 403, says: /Not allowed to watch the rollout/ },
])("$case: the wait ends at once with the cause", async ({ listStatus, says }) => {
  const kube = kubeAt(await apiServer(listStatus));
  const started = Date.now();
  const outcome = await waitForRollout(kube, { namespace: "default", name: "iris" }, { timeoutMs: 60_000 }).catch((error: unknown) => error);
  expect(outcome).toBeInstanceOf(UserError);
  expect((outcome as UserError).message).toMatch(says);
  expect(Date.now() - started).toBeLessThan(10_000);
});

/**
 * An API server whose lists answer (the Deployment, no ReplicaSets or pods) but whose watches fail:
 * refused with `watchStatus`, or accepted and then an ERROR event with `eventCode`. Counts the watches.
 */
async function watchFailingApiServer(failure: { watchStatus: number } | { eventCode: number }): Promise<{ url: string; watches: () => number }> {
  let watches = 0;
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://x");
    const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/apis/apps/v1/namespaces/default/deployments/iris") return json(200, DEPLOYMENT);
    if (url.searchParams.get("watch") === "true") {
      watches++;
      if ("watchStatus" in failure)
        return json(failure.watchStatus, { kind: "Status", apiVersion: "v1", status: "Failure", code: failure.watchStatus, message: "no" });
      const status = { kind: "Status", apiVersion: "v1", status: "Failure", code: failure.eventCode, message: "etcdserver: request timed out" };
      response.writeHead(200, { "content-type": "application/json" });
      response.write(`${JSON.stringify({ type: "ERROR", object: status })}\n`);
      return;
    }
    const items = url.pathname.endsWith("/deployments") ? [DEPLOYMENT] : [];
    json(200, { kind: "List", apiVersion: "v1", metadata: { resourceVersion: "7" }, items });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, watches: () => watches };
}

it("lists allowed but watching forbidden (403 on the watch itself): the wait ends at once with the cause", async () => {
  const api = await watchFailingApiServer({ watchStatus: 403 });
  const started = Date.now();
  const outcome = await waitForRollout(kubeAt(api.url), { namespace: "default", name: "iris" }, { timeoutMs: 60_000 }).catch((error: unknown) => error);
  expect(outcome).toBeInstanceOf(UserError);
  expect((outcome as UserError).message).toMatch(/Not allowed to watch the rollout of default\/iris \(HTTP 403\)/);
  expect(Date.now() - started).toBeLessThan(5_000);
});

it("a watch that keeps failing (ERROR events with a 500) is retried with back-off, then ends the wait with the API server's words, not at the timeout", async () => {
  const api = await watchFailingApiServer({ eventCode: 500 });
  // The back-off (0.5 s, 1 s, 2 s, 4 s) runs on a fake clock; the API server's answers are real
  // socket I/O: in real time, look every 10 ms whether the wait ended, moving the clock 100 ms each time.
  const realSetTimeout = globalThis.setTimeout;
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  const started = Date.now();
  let outcome: unknown;
  let ended = false;
  void waitForRollout(kubeAt(api.url), { namespace: "default", name: "iris" }, { timeoutMs: 60_000 })
    .then(
      (result) => (outcome = result),
      (error: unknown) => (outcome = error),
    )
    .finally(() => (ended = true));
  for (const deadline = performance.now() + 20_000; !ended && performance.now() < deadline;) {
    await vi.advanceTimersByTimeAsync(100);
    await new Promise((resolve) => realSetTimeout(resolve, 10));
  }
  expect(outcome).toBeInstanceOf(UserError);
  expect((outcome as UserError).message).toContain("failed 5 times in a row");
  expect((outcome as UserError).message).toContain("etcdserver: request timed out (HTTP 500)");
  expect(Date.now() - started).toBeLessThan(20_000);
  // Three watches (deployments, replicasets, pods), each asked again 4 times at most: no hot loop.
  expect(api.watches()).toBeLessThanOrEqual(15);
});

/** The new version's ReplicaSet and its one pod, crash-looping; events are forbidden to this user (issue 13.5). */
const DEPLOYED = { ...DEPLOYMENT, status: { observedGeneration: 2, replicas: 1, updatedReplicas: 1 } };
const REPLICA_SET = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: {
    name: "iris-abc",
    namespace: "default",
    uid: "rs1",
    labels: { app: "iris", "pod-template-hash": "abc" },
    annotations: { "deployment.kubernetes.io/revision": "2" },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "iris", uid: "u1", controller: true }],
  },
  spec: { replicas: 1, selector: { matchLabels: { app: "iris" } } },
};
const CRASHING_POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "iris-abc-x1", namespace: "default", uid: "p1", labels: { app: "iris", "pod-template-hash": "abc" } },
  spec: { containers: [{ name: "model", image: "iris:2" }] },
  status: {
    phase: "Running",
    containerStatuses: [
      {
        name: "model",
        ready: false,
        restartCount: 2,
        image: "iris:2",
        imageID: "",
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 20s restarting failed container" } },
        lastState: { terminated: { exitCode: 3, reason: "Error" } },
      },
    ],
  },
};

it.each([
  { case: "a 403 found on the way: asked once", eventsAllowed: undefined, eventLists: 1 },
  { case: "known from the rights check at start: never asked", eventsAllowed: false, eventLists: 0 },
])(
  "a user who may not list events still gets the verdicts that need none, and a line saying why the evidence is thin ($case)",
  async ({ eventsAllowed, eventLists: expectedLists }) => {
    let eventLists = 0;
    server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (url.pathname === "/apis/apps/v1/namespaces/default/deployments/iris") return json(200, DEPLOYED);
      if (url.pathname.endsWith("/events")) {
        eventLists++;
        return json(403, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "Forbidden",
          code: 403,
          message: 'events is forbidden: User "dev" cannot list resource "events" in API group "" in the namespace "default"',
        });
      }
      if (url.pathname.endsWith("/log")) return json(403, { kind: "Status", apiVersion: "v1", status: "Failure", code: 403, message: "forbidden" });
      if (url.searchParams.get("watch") === "true") return void response.writeHead(200, { "content-type": "application/json" });
      const items = url.pathname.endsWith("/deployments")
        ? [DEPLOYED]
        : url.pathname.endsWith("/replicasets")
          ? [REPLICA_SET]
          : url.pathname.endsWith("/pods")
            ? [CRASHING_POD]
            : [];
      json(200, { kind: "List", apiVersion: "v1", metadata: { resourceVersion: "7" }, items });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const outcome = await waitForRollout(
      kubeAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      { namespace: "default", name: "iris" },
      { timeoutMs: 60_000, eventsAllowed },
    );
    expect(outcome).toMatchObject({
      state: "failed",
      kind: "crash-loop",
      message: expect.stringContaining("keeps crashing: exit code 3 (Error), restarted 2 time(s)"),
    });
    expect(outcome.state === "failed" && outcome.evidence).toContain("(the pods' events are not shown: this user may not list events in namespace default)");
    expect(eventLists).toBe(expectedLists);
  },
);
