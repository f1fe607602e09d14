/**
 * Conformance of pods/NAME/portforward, checked through the real @kubernetes/client-node 1.4
 * PortForward (WebSocket, v4.channel.k8s.io). The fake runtime's pod IPs are not routable, so the
 * control plane's dialer sends each forward to a TCP server in this process that plays the pod's
 * process, and records where the kubelet would have connected.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { PortForward } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type WebSocket from "ws";
import { FakeRuntime } from "./fake-runtime.js";
import { eventually, startTestCluster, type TestCluster } from "./testing.js";

let c: TestCluster;
let podProcess: Server;
let podProcessPort = 0;
/** Where the control plane dialed, as pod IP:port. */
const dialed: string[] = [];
/** Connections the "pod process" accepted, so a test can end them from the pod's side. */
const accepted: Socket[] = [];
const CLOSED_PORT = 9999;

beforeAll(async () => {
  // The pod's process: answers every chunk with "pong:" + the chunk.
  podProcess = createServer((socket) => {
    accepted.push(socket);
    socket.on("data", (chunk) => socket.write(`pong:${chunk.toString()}`));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => podProcess.listen(0, "127.0.0.1", resolve));
  podProcessPort = (podProcess.address() as { port: number }).port;
  c = await startTestCluster({
    runtimes: [new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1"] })],
    tuning: {
      dialPod: (ip, port) => {
        dialed.push(`${ip}:${port}`);
        // Nothing listens on CLOSED_PORT in the pod: the dial is refused, as on a real node.
        return connect({ host: "127.0.0.1", port: port === CLOSED_PORT ? 1 : podProcessPort });
      },
    },
  });
  await c.core.createNamespacedPod({
    namespace: "default",
    body: { metadata: { name: "web" }, spec: { containers: [{ name: "model", image: "model:v1", ports: [{ containerPort: 8080 }] }] } },
  });
  await eventually(async () => (await c.core.readNamespacedPod({ namespace: "default", name: "web" })).status?.podIP, 10_000, "pod IP");
});
afterAll(async () => {
  await c?.close();
  podProcess?.close();
});

function collect(stream: PassThrough): () => string {
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

async function open(
  port: number,
  pod = "web",
): Promise<{ ws: WebSocket; input: PassThrough; output: () => string; errors: () => string; closed: Promise<void> }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const err = new PassThrough();
  const readOutput = collect(output);
  const readErrors = collect(err);
  const ws = (await new PortForward(c.kc).portForward("default", pod, [port], output, err, input)) as WebSocket;
  const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
  return { ws, input, output: readOutput, errors: readErrors, closed };
}

describe("pods/portforward", () => {
  test("client-node's PortForward reaches the pod's port; the port prefix never shows in the data", async () => {
    const podIP = (await c.core.readNamespacedPod({ namespace: "default", name: "web" })).status?.podIP;
    const forward = await open(8080);
    expect(forward.ws.protocol).toBe("v4.channel.k8s.io");
    forward.input.write("ping");
    await eventually(() => forward.output() === "pong:ping", 5_000, "the reply");
    forward.input.write("again");
    await eventually(() => forward.output() === "pong:pingpong:again", 5_000, "the second reply");
    expect(dialed).toContain(`${podIP}:8080`);
    expect(forward.errors()).toBe("");
    forward.input.end(); // v4: the client closes the WebSocket, and the pod connection goes with it
    await forward.closed;
  });

  test("when the pod closes its side, the WebSocket closes", async () => {
    const before = accepted.length;
    const forward = await open(8080);
    forward.input.write("x");
    await eventually(() => accepted.length > before && forward.output() === "pong:x", 5_000, "the reply");
    accepted[accepted.length - 1]?.end();
    await forward.closed;
  });

  test("a port nothing listens on: the error channel says so and the WebSocket closes", async () => {
    const forward = await open(CLOSED_PORT);
    await forward.closed;
    expect(forward.errors()).toMatch(/^error forwarding port 9999 to pod web_default, uid [0-9a-f-]+: dial tcp [\d.]+:9999: connect: connection refused$/);
  });

  test("a missing pod fails the handshake with 404", async () => {
    await expect(open(8080, "missing")).rejects.toThrow(/404/);
  });

  test("a plain request, without the upgrade, is a 400", async () => {
    const https = await import("node:https");
    const opts: import("node:https").RequestOptions = {};
    await c.kc.applyToHTTPSOptions(opts);
    const body = await new Promise<Record<string, unknown>>((resolve, reject) => {
      https
        .get(`${c.cp.url}/api/v1/namespaces/default/pods/web/portforward?ports=8080`, opts, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => resolve(JSON.parse(text) as Record<string, unknown>));
        })
        .on("error", reject);
    });
    expect(body).toMatchObject({ kind: "Status", code: 400, reason: "BadRequest", message: "Upgrade request required" });
  });

  test("discovery lists pods/portforward", async () => {
    const names = (await c.core.getAPIResources()).resources.map((r) => r.name);
    expect(names).toContain("pods/portforward");
  });
});
