/**
 * HTTP from tests on a fresh connection each time, as curl does. fetch keeps connections alive,
 * and after a rollout a kept-alive connection still reaches the old pod (the node's connection
 * tracking pins it), so a check of "the new version answers" would read the old one.
 */
import { request } from "node:http";

interface Answer {
  status: number;
  text: string;
}

export function httpRequest(url: string, options: { method?: string; json?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: options.method ?? (body === undefined ? "GET" : "POST"),
        headers: body === undefined ? {} : { "content-type": "application/json" },
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        response.on("error", reject);
      },
    );
    sent.on("error", reject);
    sent.end(body);
  });
}

/** POST /predict with one iris sample, as the README's curl does. */
export async function predictAt(baseUrl: string, features = [5.1, 3.5, 1.4, 0.2], timeoutMs = 10_000): Promise<{ status: number; body: unknown }> {
  const answer = await httpRequest(`${baseUrl}/predict`, { json: { features }, timeoutMs });
  return { status: answer.status, body: JSON.parse(answer.text) as unknown };
}
