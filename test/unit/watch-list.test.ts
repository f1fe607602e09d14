/**
 * watchList (client-node's informer and what it leaves to its caller) against the simulated API
 * server: the list and its watch, 410 Gone after a quiet watch ends, bookmarks that spare the
 * relist; and, against a stand-in server, that stop() leaves no watch open.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { connectKube, type KubeAccess } from "../../src/adapters/kube/client.js";
import { watchList } from "../../src/adapters/kube/watch-list.js";
import { eventually, startTestCluster, type TestCluster } from "../sim/apiserver/testing.js";

let cluster: TestCluster | undefined;
let server: Server | undefined;
const stops: (() => void)[] = [];
afterEach(async () => {
  stops.splice(0).forEach((stop) => stop());
  await cluster?.close();
  cluster = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

const SELECTOR = "app=watched";

/** The model's ConfigMaps as watchList sees them, with how often it listed, changed and failed. */
function watchConfigMaps(kube: KubeAccess) {
  const seen = { lists: 0, changes: 0, errors: [] as unknown[] };
  const watched = watchList<V1ConfigMap>(
    kube,
    "/api/v1/namespaces/default/configmaps",
    { labelSelector: SELECTOR },
    () => {
      seen.lists++;
      return kube.core.listNamespacedConfigMap({ namespace: "default", labelSelector: SELECTOR });
    },
    () => seen.changes++,
    (error) => seen.errors.push(error),
  );
  stops.push(watched.stop);
  const names = () =>
    watched
      .items()
      .map((item) => item.metadata?.name)
      .sort();
  return { watched, seen, names };
}

async function configMap(name: string, labels: Record<string, string> = { app: "watched" }) {
  await cluster!.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name, labels }, data: { a: "1" } } });
}

/** Writes the watch does not see: with a history of 3, they push its resourceVersion out of it. */
async function unrelatedWrites() {
  for (let index = 0; index < 5; index++) await configMap(`other-${index}`, { app: "other" });
}

it("lists, then follows the watch: one change for the list, one for each event", async () => {
  cluster = await startTestCluster();
  await configMap("a");
  await configMap("b");
  const { watched, seen, names } = watchConfigMaps(connectKube("kind-sim", cluster.kc));
  await watched.ready;
  expect(names()).toEqual(["a", "b"]);
  expect(seen.changes).toBe(1);

  await configMap("c");
  await eventually(() => names().includes("c"), 5_000, "the new ConfigMap");
  await cluster.core.deleteNamespacedConfigMap({ namespace: "default", name: "a" });
  await eventually(() => !names().includes("a"), 5_000, "the deleted ConfigMap gone");
  expect(names()).toEqual(["b", "c"]);
  expect(seen).toMatchObject({ lists: 1, changes: 3, errors: [] });
});

it("a watch the server ended, whose resourceVersion is no longer kept: 410 Gone, listed again, no error said", async () => {
  // No bookmark comes before the watch ends (after 1 s): its resourceVersion is the list's.
  cluster = await startTestCluster({ tuning: { watchHistory: 3, timing: { watchBookmarkMs: 60_000, watchDefaultTimeoutSeconds: 1 } } });
  await configMap("a");
  const { watched, seen, names } = watchConfigMaps(connectKube("kind-sim", cluster.kc));
  await watched.ready;
  await unrelatedWrites();
  await configMap("b", { app: "other" }); // no event for it
  await eventually(() => seen.lists === 2, 5_000, "a second list");
  await configMap("c");
  await eventually(() => names().includes("c"), 5_000, "the ConfigMap made after the relist");
  expect(names()).toEqual(["a", "c"]);
  expect(seen.errors).toEqual([]);
});

it("with bookmarks (asked for), a quiet watch the server ended is watched again from the bookmark's resourceVersion, without a list", async () => {
  cluster = await startTestCluster({ tuning: { watchHistory: 3, timing: { watchBookmarkMs: 100, watchDefaultTimeoutSeconds: 1 } } });
  const { watched, seen, names } = watchConfigMaps(connectKube("kind-sim", cluster.kc));
  await watched.ready;
  await unrelatedWrites();
  // Past the watch's end (1 s) and the next one's first bookmark.
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  await configMap("a");
  await eventually(() => names().includes("a"), 5_000, "the ConfigMap made after the watch was renewed");
  expect(seen.lists).toBe(1);
  expect(seen.errors).toEqual([]);
});

/** A stand-in API server: an empty list, and watches held for the test to answer (or not). */
async function heldWatches() {
  const watches: { request: IncomingMessage; response: ServerResponse; closed: Promise<void> }[] = [];
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://x");
    if (url.searchParams.get("watch") === "true") {
      const closed = new Promise<void>((resolve) => response.on("close", resolve));
      watches.push({ request, response, closed });
      return;
    }
    response
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion: "7" }, items: [] }));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "kind-c", cluster: "c", user: "u" }],
    currentContext: "kind-c",
  });
  return { kube: connectKube("kind-c", config), watches };
}

it("stop() closes the open watch, which asked for bookmarks from the list's resourceVersion", async () => {
  const { kube, watches } = await heldWatches();
  const { watched } = watchConfigMaps(kube);
  await watched.ready;
  await eventually(() => watches.length === 1, 5_000, "the watch");
  const watch = watches[0]!;
  watch.response.writeHead(200, { "content-type": "application/json" });
  watch.response.flushHeaders();
  const query = new URL(watch.request.url ?? "/", "http://x").searchParams;
  expect(Object.fromEntries(query)).toMatchObject({ watch: "true", resourceVersion: "7", allowWatchBookmarks: "true", labelSelector: SELECTOR });
  await new Promise((resolve) => setTimeout(resolve, 100));
  watched.stop();
  await watch.closed;
}, 10_000);

it("stop() while the watch is being asked for: the watch that answers afterwards is closed at once", async () => {
  const { kube, watches } = await heldWatches();
  const { watched, seen } = watchConfigMaps(kube);
  await watched.ready;
  await eventually(() => watches.length === 1, 5_000, "the watch");
  watched.stop();
  const watch = watches[0]!;
  watch.response.writeHead(200, { "content-type": "application/json" });
  watch.response.flushHeaders();
  await watch.closed;
  await new Promise((resolve) => setTimeout(resolve, 700)); // past the first back-off: nothing asked again
  expect(watches).toHaveLength(1);
  expect(seen.errors).toEqual([]);
}, 10_000);
