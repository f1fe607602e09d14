/**
 * A local HTTP proxy that records what it is asked: absolute-URI requests (plain-http URLs, as
 * curl sends them) are forwarded, CONNECT tunnels (https URLs) are refused with 403, since a
 * test cannot make mlkube trust a local TLS server. Proof that a client used the proxy, or not.
 */
import { createServer, request, type Server } from "node:http";

export interface RecordingProxy {
  url: string;
  /** "GET http://host:port/path" or "CONNECT host:port", in order. */
  requests: string[];
  /** The Proxy-Authorization header of each request, if any. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    authorizations.push(incoming.headers["proxy-authorization"]);
    const forwarded = request(
      incoming.url ?? "",
      { method: incoming.method, headers: { ...incoming.headers, host: new URL(incoming.url ?? "").host } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  server.on("connect", (incoming, socket) => {
    requests.push(`CONNECT ${incoming.url}`);
    authorizations.push(incoming.headers["proxy-authorization"]);
    socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    authorizations,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
