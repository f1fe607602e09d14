import { PortForward } from "@kubernetes/client-node";
import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import type { KubeAccess } from "./client.js";

export interface PodTarget {
  pod: string;
  port: number;
}

export interface LocalForward {
  /** http://127.0.0.1:PORT: every connection to it is forwarded to the target pod's port. */
  url: string;
  /** Forget the resolved target and close the open connections (the next one resolves again). */
  reset(): void;
  /**
   * Why the last forward could not be opened (the API server refused it, the pod is gone): the
   * HTTP client only sees its connection closed, which says nothing about the cause.
   */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/**
 * A local port on 127.0.0.1 whose connections are forwarded to a pod through the API server's
 * `pods/portforward` subresource, as `kubectl port-forward` does. Each local connection gets its own
 * forward (a WebSocket). The target is resolved on the first connection and kept until reset().
 */
export async function forwardLocalPort(kube: KubeAccess, namespace: string, resolve: () => Promise<PodTarget>): Promise<LocalForward> {
  const forward = new PortForward(kube.config);
  let target: Promise<PodTarget> | undefined;
  let lastError: string | undefined;
  const resolveTarget = () =>
    (target ??= resolve().catch((error: unknown) => {
      target = undefined;
      throw error;
    }));
  const sockets = new Set<Socket>();
  const webSockets = new Set<ForwardSocket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    resolveTarget()
      .then(({ pod, port }) =>
        forward.portForward(
          namespace,
          pod,
          [port],
          socket,
          refusals(socket, (message) => (lastError = message)),
          socket,
        ),
      )
      .then((ws) => {
        if (typeof ws === "function") return; // only with retries, which are not used here
        lastError = undefined; // a forward that opened: an older failure no longer explains anything
        // client-node ends neither side for us: when the forward ends (the pod went away, its port
        // refused) the HTTP client would wait on a dead connection, and a local socket closed
        // without a FIN (destroy, reset) would leave the WebSocket and the pod connection open.
        webSockets.add(ws);
        ws.on("close", () => {
          webSockets.delete(ws);
          socket.end();
        });
        if (socket.destroyed) closeGracefully(ws);
        else socket.on("close", () => closeGracefully(ws));
      })
      .catch((error: unknown) => {
        target = undefined;
        lastError = describeForwardError(error);
        socket.destroy();
      });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolvePromise());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    reset: () => {
      target = undefined;
      dropConnections();
    },
    lastError: () => lastError,
    close: async () => {
      dropConnections();
      // Ending: no closing handshake to wait for, and none may keep the process alive.
      for (const ws of webSockets) ws.terminate();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    },
  };
}

type ForwardSocket = Extract<Awaited<ReturnType<PortForward["portForward"]>>, { terminate(): void }>;
/** How long a closed connection's WebSocket waits for the server's close frame before it is cut. */
const CLOSE_HANDSHAKE_MS = 1_000;

/**
 * Starts the WebSocket closing handshake, and cuts the connection if the other side does not
 * answer it soon: ws would otherwise hold it for 30 s, and with a connection per smoke test those
 * add up (the soak benchmark saw up to 27 at once, and a quit waited for them).
 */
export function closeGracefully(ws: Pick<ForwardSocket, "close" | "terminate">): void {
  ws.close();
  setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS).unref();
}

/** A forward to one named pod: smoke tests that must be answered by that pod and no other. */
export function forwardToPod(kube: KubeAccess, namespace: string, target: PodTarget): Promise<LocalForward> {
  return forwardLocalPort(kube, namespace, async () => target);
}

/**
 * The forward's error channel: the kubelet writes there when it cannot reach the pod's port (no
 * server listens yet). The connection then carries nothing, so it is closed at once, and the HTTP
 * client sees a refusal instead of waiting out its timeout.
 */
function refusals(socket: Socket, record: (message: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      // The channel's first frame is only the port number, which client-node strips to nothing.
      if (chunk.length === 0) return done();
      record(chunk.toString("utf8").trim());
      socket.destroy();
      done();
    },
  });
}

/** client-node rejects a refused upgrade with the HTTP status; a resolver with its own error. */
function describeForwardError(error: unknown): string {
  const failure = error as { message?: string; code?: unknown; statusCode?: unknown };
  const status = typeof failure.statusCode === "number" ? `HTTP ${failure.statusCode}: ` : "";
  return `${status}${failure.message ?? String(error)}`;
}
