/**
 * The server's 'upgrade' listener: WebSocket requests for pods/NAME/portforward (portforward.ts)
 * and pods/NAME/exec (exec.ts); any other upgrade gets the answer a plain request would.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ApiError, badRequest, unknownPath } from "./status.js";

export interface UpgradeHandler {
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every open session (upgraded sockets outlive server.closeAllConnections()). */
  closeAll(): void;
}

const SUBRESOURCE = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/(portforward|exec)\/?$/;

export function createUpgradeHandler(handlers: { portforward: UpgradeHandler; exec: UpgradeHandler }): UpgradeHandler {
  return {
    handle: (req, socket, head) => {
      const subresource = SUBRESOURCE.exec(new URL(req.url ?? "/", "https://127.0.0.1").pathname)?.[1];
      if (subresource === "portforward" || subresource === "exec") handlers[subresource].handle(req, socket, head);
      else refuseUpgrade(socket, unknownPath());
    },
    closeAll: () => {
      handlers.portforward.closeAll();
      handlers.exec.closeAll();
    },
  };
}

/** Answers an upgrade request that is refused before the handshake with a Status object, as the apiserver does. */
export function refuseUpgrade(socket: Duplex, err: unknown): void {
  const apiErr = err instanceof ApiError ? err : badRequest((err as Error).message);
  respond(socket, apiErr.code, "application/json", JSON.stringify(apiErr.toStatus()));
}

/**
 * Answers with a plain-text body: what a client sees when the kubelet refuses a stream the
 * apiserver proxies (the kubelet writes err.Error() as text, and the proxy echoes its response).
 */
export function refuseUpgradeWithText(socket: Duplex, code: number, text: string): void {
  respond(socket, code, "text/plain; charset=utf-8", text);
}

function respond(socket: Duplex, code: number, contentType: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ""}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The subprotocols a client offers, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase() === "websocket";
}
