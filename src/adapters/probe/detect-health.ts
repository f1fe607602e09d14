/**
 * Asks a running model server its well-known health endpoints (core/health-endpoints.ts) and
 * returns the first that answers 2xx. Only GETs, one at a time, each with a short time limit.
 */
import { healthCandidates, kserveModelNames, type HealthCandidate } from "../../core/health-endpoints.js";
import { deadline } from "./deadline.js";

export interface DetectedHealth {
  found: HealthCandidate | undefined;
  /** The paths asked, in order, for the message when none answered. */
  tried: string[];
}

export async function detectHealthEndpoint(baseUrl: string, modelName: string, signal?: AbortSignal): Promise<DetectedHealth> {
  const listed = await get(`${baseUrl}/v1/models`, signal);
  const names = listed?.ok ? kserveModelNames(listed.body) : [];
  const candidates = healthCandidates(names.length > 0 ? names : [modelName]);
  const tried: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate.path);
    const answer = await get(`${baseUrl}${candidate.path}`, signal);
    if (answer?.ok) return { found: candidate, tried };
  }
  return { found: undefined, tried };
}

async function get(url: string, signal: AbortSignal | undefined): Promise<{ ok: boolean; body: unknown } | undefined> {
  const attempt = deadline(2_000, signal);
  try {
    const response = await fetch(url, { signal: attempt.signal, redirect: "manual" });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text; // not JSON: only the status matters
    }
    return { ok: response.status >= 200 && response.status < 300, body };
  } catch {
    if (signal?.aborted) throw signal.reason;
    return undefined; // no answer: this path is not the one
  } finally {
    attempt.clear();
  }
}
