/**
 * The kubelet's HTTP probe: GET with a timeout, redirects to the same host followed, success for
 * 200-399. Errors are worded like the Go client's, because the kubelet puts them in probe events.
 * Pod IPs are reached from the host through a route to the node's pod subnet (nodes.ts adds it).
 */
import { request } from "node:http";
import { connect } from "node:net";

export interface ProbeResult {
  ok: boolean;
  status?: number;
  error?: string;
}

export function httpGet(ip: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const url = `http://${ip}:${port}${path.startsWith("/") ? path : `/${path}`}`;
  return follow(new URL(url), timeoutMs, Date.now() + timeoutMs, 0);
}

function follow(url: URL, timeoutMs: number, deadline: number, redirects: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const shown = `Get "${url.href}"`;
    const req = request(
      url,
      { method: "GET", headers: { "User-Agent": "kube-probe/1.32", Accept: "*/*" }, timeout: Math.max(1, deadline - Date.now()) },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && redirects < 10) {
          const next = new URL(location, url);
          // The kubelet follows redirects on the same host only; others count as success with a warning.
          if (next.host === url.host) return void follow(next, timeoutMs, deadline, redirects + 1).then(resolve);
        }
        if (status >= 200 && status < 400) return resolve({ ok: true, status });
        resolve({ ok: false, status, error: `HTTP probe failed with statuscode: ${status}` });
      },
    );
    req.on("timeout", () => {
      req.destroy();
      resolve({ ok: false, error: `${shown}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      const address = `${url.hostname}:${url.port || 80}`;
      const reason =
        error.code === "ECONNREFUSED"
          ? "connect: connection refused"
          : error.code === "EHOSTUNREACH"
            ? "connect: no route to host"
            : error.code === "ECONNRESET"
              ? "read: connection reset by peer"
              : error.message;
      resolve({ ok: false, error: `${shown}: dial tcp ${address}: ${reason}` });
    });
    req.end();
  });
}

/**
 * The kubelet's TCP probe: success when a connection opens within the timeout, closed at once
 * (kubernetes pkg/probe/tcp/tcp.go, DoTCPProbe: net.DialTimeout, the dial error as the output).
 */
export function tcpConnect(ip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const address = `${ip}:${port}`;
    const socket = connect({ host: ip, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve({ ok: false, error: `dial tcp ${address}: i/o timeout` });
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === "ECONNREFUSED" ? "connect: connection refused" : error.code === "EHOSTUNREACH" ? "connect: no route to host" : error.message;
      resolve({ ok: false, error: `dial tcp ${address}: ${reason}` });
    });
  });
}
