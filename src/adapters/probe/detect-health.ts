/**
 * Asks a running model server its well-known health endpoints (core/health-endpoints.ts) and
 * returns the first that answers 2xx. Only GETs, one at a time, each with a short time limit.
 */
import { healthCandidates, kserveModelNames, type HealthCandidate } from "../../core/health-endpoints.js";
import { askServer, isSuccess } from "./ask-server.js";

interface DetectedHealth {
  found: HealthCandidate | undefined;
  /** The paths asked, in order, for the message when none answered. */
  tried: string[];
}

export async function detectHealthEndpoint(baseUrl: string, modelName: string, signal?: AbortSignal): Promise<DetectedHealth> {
  const listed = await askServer(`${baseUrl}/v1/models`, { signal });
  const names = isSuccess(listed) ? kserveModelNames(listed.json) : [];
  const candidates = healthCandidates(names.length > 0 ? names : [modelName]);
  const tried: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate.path);
    if (isSuccess(await askServer(`${baseUrl}${candidate.path}`, { signal }))) return { found: candidate, tried };
  }
  return { found: undefined, tried };
}
