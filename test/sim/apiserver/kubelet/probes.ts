/**
 * One probe attempt, the way the kubelet's prober runs it: HTTP GET from the node's network to the
 * pod IP, success for a status in [200, 400), and failure messages worded like the kubelet's
 * (they end up in Unhealthy events that people read).
 */
import type { NodeRuntime } from "../../contract.js";
import type { Container, Probe } from "../types.js";

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed, e.g. `HTTP probe failed with statuscode: 503`. */
  detail?: string;
}

export function probePort(container: Container, port: number | string): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(runtime: NodeRuntime, container: Container, probe: Probe, podIP: string | undefined): Promise<ProbeOutcome> {
  if (probe.tcpSocket) return runTcpProbe(runtime, container, probe, podIP);
  const get = probe.httpGet;
  // httpGet and tcpSocket probes are run for real; exec and grpc probes count as passing (README).
  if (!get) return { ok: true };
  const port = probePort(container, get.port);
  const path = get.path ?? "/";
  if (port === undefined) return { ok: false, detail: `strconv.Atoi: parsing "${String(get.port)}": invalid syntax` };
  if (!podIP) return { ok: false, detail: "pod has no IP address yet" };
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    const result = await runtime.httpProbe(podIP, port, path, timeoutMs);
    if (result.status !== undefined) {
      if (result.status >= 200 && result.status < 400) return { ok: true };
      return { ok: false, detail: `HTTP probe failed with statuscode: ${result.status}` };
    }
    if (result.ok) return { ok: true };
    // The kubelet's output is the Go client's url.Error, `Get "URL": <cause>`, once (kubernetes
    // pkg/probe/http/http.go, DoHTTPProbe returns err.Error()); the node's prober words it already.
    const error = result.error ?? "probe failed";
    return { ok: false, detail: error.startsWith('Get "') ? error : `Get "http://${podIP}:${port}${path}": ${error}` };
  } catch (err) {
    return { ok: false, detail: `Get "http://${podIP}:${port}${path}": ${(err as Error).message}` };
  }
}

/** A tcpSocket probe: the port opens or the dial error is the output (kubernetes pkg/probe/tcp/tcp.go). */
async function runTcpProbe(runtime: NodeRuntime, container: Container, probe: Probe, podIP: string | undefined): Promise<ProbeOutcome> {
  const socket = probe.tcpSocket;
  if (!socket) return { ok: true };
  const port = probePort(container, socket.port);
  if (port === undefined) return { ok: false, detail: `strconv.Atoi: parsing "${String(socket.port)}": invalid syntax` };
  if (!podIP) return { ok: false, detail: "pod has no IP address yet" };
  const result = await runtime.tcpProbe(socket.host ?? podIP, port, (probe.timeoutSeconds ?? 1) * 1000);
  return result.ok ? { ok: true } : { ok: false, detail: result.error ?? `dial tcp ${podIP}:${port}: probe failed` };
}
