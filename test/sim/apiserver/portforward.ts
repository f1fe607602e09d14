/**
 * pods/NAME/portforward over WebSocket, as the apiserver and kubelet serve it to clients that
 * speak the v4 channel protocol (client-node's PortForward, older kubectl): the server picks
 * `v4.channel.k8s.io`, each requested port gets a data channel (2i) and an error channel (2i+1),
 * and the first frame the server sends on each carries the port as 2 bytes little-endian. Every
 * frame is one byte of channel number, then payload. The kubelet then opens one TCP connection to
 * the port inside the pod and copies bytes both ways; when either side ends, the WebSocket closes.
 * SPDY port-forwarding (what kubectl uses) is not served.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { R } from "./resources.js";
import type { Registry } from "./registry.js";
import { ApiError, badRequest, unknownPath } from "./status.js";
import type { Pod } from "./types.js";
import { isWebSocketUpgrade, offeredProtocols, refuseUpgrade, type UpgradeHandler } from "./upgrade.js";

/** The one subprotocol served; "" (no header) means the same binary framing, as in wsstream. */
const PROTOCOL = "v4.channel.k8s.io";

/** Opens a TCP connection to a pod's port. The host has routes to every pod subnet (see ../README.md). */
export type PodDialer = (ip: string, port: number) => Socket;

export interface PortForwardDeps {
  registry: Registry;
  log: (line: string) => void;
  dial?: PodDialer;
}

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\/?$/;

export function createPortForwardHandler(deps: PortForwardDeps): UpgradeHandler {
  // clientTracking keeps wss.clients, so closeAll() can reach forwards the HTTP server forgot.
  const wss = new WebSocketServer({ noServer: true, clientTracking: true, handleProtocols: () => PROTOCOL });
  const dial = deps.dial ?? ((ip, port) => connect({ host: ip, port }));
  return {
    closeAll: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    handle: (req, socket, head) => {
      try {
        const { pod, ports } = checkRequest(deps.registry, req);
        wss.handleUpgrade(req, socket, head, (ws) => forward(ws, pod, ports, dial, deps.log));
      } catch (err) {
        refuseUpgrade(socket, err);
      }
    },
  };
}

/** Everything the apiserver and kubelet check before the WebSocket handshake. */
function checkRequest(registry: Registry, req: IncomingMessage): { pod: Pod; ports: number[] } {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const match = PATH.exec(url.pathname);
  if (!match) throw unknownPath();
  if (!isWebSocketUpgrade(req)) {
    throw badRequest("the simulator serves port-forwarding only over WebSocket (v4.channel.k8s.io), not SPDY");
  }
  const offered = offeredProtocols(req);
  if (offered.length > 0 && !offered.includes(PROTOCOL)) {
    throw badRequest(`requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${PROTOCOL}]`);
  }
  const namespace = decodeURIComponent(match[1] ?? "");
  const name = decodeURIComponent(match[2] ?? "");
  const pod = registry.get(R.pods, namespace, name) as Pod; // 404 NotFound when missing
  if (!pod.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const raw = url.searchParams.getAll("ports");
  if (raw.length === 0) throw badRequest('query parameter "port" is required');
  const ports = raw.map((value) => {
    const port = Number(value);
    if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw badRequest(`unable to parse "${value}" as a port`);
    return port;
  });
  const phase = pod.status?.phase;
  if (!pod.status?.podIP || phase === "Succeeded" || phase === "Failed") {
    // containerd's words when the pod's sandbox is gone; here a pod without an IP never started one.
    throw new ApiError(500, "InternalError", `error: unable to upgrade connection: pod ${name} is not running: sandbox container is not running`);
  }
  return { pod, ports };
}

function frame(channel: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** Copies bytes between the WebSocket's channels and one TCP connection per port. */
function forward(ws: WebSocket, pod: Pod, ports: number[], dial: PodDialer, log: (line: string) => void): void {
  const ip = pod.status?.podIP ?? "";
  const podName = `${pod.metadata.name ?? ""}_${pod.metadata.namespace ?? ""}`;
  const conns: Socket[] = [];
  let closed = false;
  const closeAll = (): void => {
    if (closed) return;
    closed = true;
    for (const conn of conns) conn.destroy();
    ws.close(1000);
  };
  ports.forEach((port, index) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    ws.send(frame(index * 2, prefix));
    ws.send(frame(index * 2 + 1, prefix));
    const conn = dial(ip, port);
    conns.push(conn);
    // One chunk in flight at a time towards the client keeps memory bounded for large replies.
    conn.on("data", (chunk: Buffer) => {
      conn.pause();
      ws.send(frame(index * 2, chunk), () => conn.resume());
    });
    // The kubelet ends the whole forward when the pod's side of any port ends (containerd's copy loop).
    conn.on("end", closeAll);
    conn.on("error", (err) => {
      if (closed) return;
      const message = `error forwarding port ${port} to pod ${podName}, uid ${pod.metadata.uid ?? ""}: ${describe(err, ip, port)}`;
      log(message);
      ws.send(frame(index * 2 + 1, Buffer.from(message)), closeAll);
    });
  });
  ws.on("message", (data: RawData, isBinary: boolean) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
    if (!isBinary || buffer.length === 0) return;
    const channel = buffer[0] ?? 0;
    const conn = conns[channel / 2];
    // Error channels are server-to-client only; writes to them are ignored, as in wsstream.
    if (channel % 2 !== 0 || !conn) return;
    if (!conn.write(buffer.subarray(1))) {
      ws.pause();
      conn.once("drain", () => ws.resume());
    }
  });
  ws.on("close", closeAll);
  ws.on("error", closeAll);
}

/** Go's net error wording, which is what users of a real cluster see on the error channel. */
function describe(err: NodeJS.ErrnoException, ip: string, port: number): string {
  if (err.code === "ECONNREFUSED") return `dial tcp ${ip}:${port}: connect: connection refused`;
  if (err.code === "ECONNRESET") return `read tcp ${ip}:${port}: read: connection reset by peer`;
  return err.message;
}
