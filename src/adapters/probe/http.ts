/**
 * Sends smoke-test requests to a model server and records what came back. One case after another
 * (never in parallel), so one case's load does not show up in another's latency.
 */
import { type Agent as HttpAgent, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BODY_TEXT_LIMIT, type JsonValue, type ResponseSnapshot } from "../../core/expectations.js";
import type { SmokeCase } from "../../core/smoke-cases.js";
import { summarizeCase, type RequestOutcome, type SmokeResult } from "../../core/smoke-results.js";
import { UserError } from "../../errors.js";
import { deadline } from "./deadline.js";

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** Called after each case, for live output. */
  onResult?: ((result: SmokeResult) => void) | undefined;
  /** Why the transport failed, when it knows better than the HTTP client (a port-forward: Endpoint.lastError). */
  transportError?: (() => string | undefined) | undefined;
  /**
   * Send the cases over this agent's kept-alive connection (when the server keeps it). Only for a
   * target that a connection cannot outlive, a port-forward to one named pod (kube/pod-connections.ts):
   * there each new connection costs a forward through the API server that no user's request pays.
   * Never for the model's URL (see sendRequest).
   */
  agent?: HttpAgent | undefined;
}

/**
 * Runs every case against `baseUrl`. When the first case gets no answer at all, the model is not
 * reachable: that is one clear error instead of every case failing the same way, one timeout each.
 */
export async function runSmokeTests(baseUrl: string, cases: readonly SmokeCase[], options: RunOptions = {}): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  const { agent } = options;
  for (const smokeCase of cases) {
    const outcomes: RequestOutcome[] = [];
    for (let attempt = 0; attempt < smokeCase.repeat; attempt++) outcomes.push(await sendRequest(baseUrl, smokeCase, options.signal, agent));
    const result = summarizeCase(smokeCase, outcomes);
    if (results.length === 0 && outcomes.every((outcome) => "error" in outcome)) {
      throw new UserError("unreachable", `The model at ${baseUrl} does not answer: ${(options.transportError?.() ?? result.error ?? "").replace(/\.$/, "")}.`, {
        hint: "Check that the model server runs and listens on that address ('mlkube status' shows the cluster's URLs, 'mlkube logs' the server's output).",
      });
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/**
 * One request on its own connection, timed from connecting to the last byte of the body, as a
 * user's curl would. Never a pooled keep-alive connection to the model's URL: after a rollout it
 * would still lead to the old pod (the node's connection tracking keeps it there), and the tests
 * would check the old version. With AGENT (a port-forward to one pod, see RunOptions.keepAlive),
 * a request after the first is timed on the open connection.
 */
export async function sendRequest(baseUrl: string, smokeCase: SmokeCase, signal?: AbortSignal, agent?: HttpAgent): Promise<RequestOutcome> {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}${smokeCase.path}`);
  const limit = deadline(smokeCase.timeoutMs, signal);
  const started = performance.now();
  try {
    const { status, text } = await requestOnce(url, smokeCase, limit.signal, agent).catch((error: unknown) => {
      // A kept-alive connection the server closed as the request went out (its idle timeout): the
      // request never reached it, so it is sent again on a new connection, as Node's docs advise.
      if ((error as { staleConnection?: boolean }).staleConnection && !limit.signal.aborted) return requestOnce(url, smokeCase, limit.signal, agent);
      throw error;
    });
    return { response: snapshot(status, text, performance.now() - started) };
  } catch (error) {
    if (signal?.aborted) throw new UserError("cancelled", "The smoke tests were cancelled.", { cause: error });
    if (limit.expired) return { error: `no answer within ${formatDuration(smokeCase.timeoutMs)}` };
    return { error: describeFailure(error) };
  } finally {
    limit.clear();
  }
}

/** A redirect is an answer to check (status 3xx), not something to follow: node:http never follows. */
function requestOnce(url: URL, smokeCase: SmokeCase, signal: AbortSignal, agent: HttpAgent | undefined): Promise<{ status: number; text: string }> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: smokeCase.method, headers: smokeCase.headers, agent: agent ?? false, signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
      response.on("close", () => {
        if (!response.complete) reject(Object.assign(new Error("the connection was closed in the middle of the answer"), { code: "ECONNRESET" }));
      });
    });
    request.on("error", (error: NodeJS.ErrnoException) =>
      reject(request.reusedSocket && error.code === "ECONNRESET" ? Object.assign(error, { staleConnection: true }) : error),
    );
    request.end(smokeCase.body);
  });
}

function snapshot(status: number, text: string, latencyMs: number): ResponseSnapshot {
  return { status, bodyText: text.slice(0, BODY_TEXT_LIMIT), bodyLength: text.length, json: parseJson(text), latencyMs };
}

function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined; // not JSON: expectations on JSON say so, text expectations still apply
  }
}

function describeFailure(error: unknown): string {
  const failure = error as { code?: string; message?: string };
  switch (failure.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "the connection was closed without an answer";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
  }
  return failure.message ?? String(error);
}

function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
