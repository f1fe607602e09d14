/**
 * One read-only question to a model server while mlkube works out how to check it (health
 * endpoints, self-descriptions): a short time limit, no redirects followed, the body parsed as JSON
 * when it is JSON. No answer at all (refused, timed out) is undefined, not an error.
 */
import { deadline } from "./deadline.js";

interface ServerAnswer {
  status: number;
  /** The body as JSON; undefined when it is not JSON. */
  json: unknown;
}

const ANSWER_LIMIT_MS = 2_000;

export async function askServer(url: string, options: { method?: "GET" | "POST"; signal?: AbortSignal | undefined } = {}): Promise<ServerAnswer | undefined> {
  const { method = "GET", signal } = options;
  const attempt = deadline(ANSWER_LIMIT_MS, signal);
  try {
    const response = await fetch(url, {
      method,
      signal: attempt.signal,
      redirect: "manual",
      ...(method === "POST" ? { body: "{}", headers: { "content-type": "application/json" } } : {}),
    });
    const text = await response.text();
    try {
      return { status: response.status, json: JSON.parse(text) as unknown };
    } catch {
      return { status: response.status, json: undefined };
    }
  } catch {
    if (signal?.aborted) throw signal.reason;
    return undefined;
  } finally {
    attempt.clear();
  }
}

export function isSuccess(answer: ServerAnswer | undefined): answer is ServerAnswer {
  return answer !== undefined && answer.status >= 200 && answer.status < 300;
}
