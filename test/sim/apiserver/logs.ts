/**
 * GET /api/v1/namespaces/NS/pods/NAME/log: picks the container and the attempt like the kubelet's
 * log endpoint, then streams what the node runtime returns. Errors are 400 Status objects with the
 * real wording, since `kubectl logs` users read them directly.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { LogOptions } from "../contract.js";
import { badRequest } from "./status.js";
import type { Pod } from "./types.js";

export interface LogProvider {
  /** Opens one container attempt's log; throws ApiError (400) when there is none to show. */
  openLogs(pod: Pod, container: string, previous: boolean, options: LogOptions): Promise<Readable>;
}

function flag(value: string | null): boolean {
  return value === "true" || value === "1";
}

function positiveInt(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name}: Invalid value: ${JSON.stringify(raw)}: must be a non-negative integer`);
  return n;
}

export function resolveContainer(pod: Pod, requested: string | null): string {
  const names = (pod.spec.containers ?? []).map((c) => c.name);
  const name = pod.metadata.name ?? "";
  if (!requested) {
    if (names.length === 1) return names[0] ?? "";
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
  }
  const init = (pod.spec.initContainers ?? []).map((c) => c.name);
  if (!names.includes(requested) && !init.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

export async function serveLogs(req: IncomingMessage, res: ServerResponse, pod: Pod, query: URLSearchParams, provider: LogProvider): Promise<void> {
  const container = resolveContainer(pod, query.get("container"));
  if (!pod.spec.nodeName) throw badRequest(`pod ${pod.metadata.name ?? ""} does not have a host assigned`);
  const tailLines = positiveInt(query, "tailLines");
  const limitBytes = positiveInt(query, "limitBytes");
  let sinceSeconds = positiveInt(query, "sinceSeconds");
  const sinceTime = query.get("sinceTime");
  if (sinceTime) {
    if (sinceSeconds !== undefined) throw badRequest("at most one of sinceTime or sinceSeconds may be specified");
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) throw badRequest(`sinceTime: Invalid value: "${sinceTime}": parsing time`);
    sinceSeconds = Math.max(1, Math.ceil((Date.now() - t) / 1000));
  }
  if (sinceSeconds === 0) throw badRequest("sinceSeconds: Invalid value: 0: must be greater than 0");
  const options: LogOptions = { follow: flag(query.get("follow")), timestamps: flag(query.get("timestamps")), tailLines, sinceSeconds };
  const stream = await provider.openLogs(pod, container, flag(query.get("previous")), options);
  res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  let sent = 0;
  const stop = (): void => {
    stream.destroy();
    if (!res.writableEnded) res.end();
  };
  req.on("close", stop);
  res.on("close", stop);
  stream.on("data", (chunk: Buffer | string) => {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (limitBytes !== undefined) {
      if (sent + bytes.length >= limitBytes) {
        bytes = bytes.subarray(0, limitBytes - sent);
        res.write(bytes);
        stop();
        return;
      }
    }
    sent += bytes.length;
    res.write(bytes);
  });
  stream.on("end", () => {
    if (!res.writableEnded) res.end();
  });
  stream.on("error", () => stop());
}
