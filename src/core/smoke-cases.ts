/**
 * The requests a smoke-test run sends, from either source: the `tests:` in mlkube.yaml, or a
 * JSON Lines file of recorded requests and responses (`requests:`). Both become SmokeCases, so
 * one runner sends them and one checker judges them.
 */
import { z } from "zod";
import type { SmokeTest } from "../config/schema.js";
import { UserError } from "../errors.js";
import { FLOAT_NOISE, type Expectations, type JsonValue } from "./expectations.js";

export interface SmokeCase {
  name: string;
  source: "test" | "recorded";
  method: string;
  /** Appended to the base URL; may carry a query string. */
  path: string;
  headers: Record<string, string>;
  /** The encoded body, or undefined for none. */
  body: string | undefined;
  repeat: number;
  expect: Expectations;
  /** Each request's own limit: a connection can be accepted and then never answered (see timeoutFor). */
  timeoutMs: number;
  /** The latency a recording measured in production: compared by `reproduce`, never a budget. */
  recordedLatencyMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Docker's port proxy accepts a connection before the app in the container listens, then holds it
 * without an answer (measured here), so every request needs its own limit. With a latency budget,
 * twice the budget: a slow answer is then reported with its latency rather than as silence (at
 * least 100 ms, so a tight budget still sees the answer it judges).
 */
export function timeoutFor(latencyMs: number | undefined): number {
  return latencyMs === undefined ? DEFAULT_TIMEOUT_MS : Math.max(2 * latencyMs, 100);
}

/** A test from mlkube.yaml; `bodyFileText` is the content of its bodyFile, if it has one. */
export function caseFromTest(test: SmokeTest, bodyFileText?: string): SmokeCase {
  const body = bodyFileText ?? (test.body === undefined ? undefined : JSON.stringify(test.body));
  return {
    name: test.name,
    source: "test",
    method: test.method,
    path: test.path,
    headers: withContentType(test.headers, body),
    body,
    repeat: test.repeat,
    expect: { ...test.expect },
    timeoutMs: timeoutFor(test.expect.latencyMs),
  };
}

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

// Loose objects: recorders add their own fields (timestamps, ids); those are ignored.
const recordedLine = z.object({
  name: z.string().min(1).optional(),
  request: z.object({
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, "a method such as POST")
      .optional(),
    path: z.string().regex(/^\//, 'a path starting with "/"'),
    headers: z.record(z.string(), z.string()).optional(),
    body: jsonValue.optional(),
  }),
  response: z.object({ status: z.int().min(100).max(599).optional(), body: jsonValue.optional(), latencyMs: z.number().nonnegative().optional() }).optional(),
});

/**
 * Parses a recorded-requests file: one JSON object per line, blank lines skipped. A string body is
 * sent (and, in a response, compared) as raw text, which is how recorders keep bodies that are not
 * JSON; any other body is JSON. Throws one UserError listing every bad line.
 */
export function parseRecordedRequests(text: string, shownAs: string): SmokeCase[] {
  const cases: SmokeCase[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "") return;
    const at = `${shownAs}:${index + 1}`;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (error) {
      errors.push(`${at} is not JSON: ${(error as Error).message}`);
      return;
    }
    const parsed = recordedLine.safeParse(data);
    if (!parsed.success) {
      errors.push(...parsed.error.issues.map((issue) => `${at} ${issue.path.join(".") || "(line)"}: ${issue.message}`));
      return;
    }
    cases.push(caseFromRecording(parsed.data, `${shownAs}:${index + 1}`));
  });
  if (errors.length > 0) {
    throw new UserError("config", `${shownAs} has ${errors.length === 1 ? "1 bad line" : `${errors.length} bad lines`}`, {
      details: errors,
      hint: 'Each line must be a JSON object like {"request": {"method": "POST", "path": "/predict", "body": {...}}, "response": {"status": 200, "body": {...}}}.',
    });
  }
  return cases;
}

function caseFromRecording(recorded: z.output<typeof recordedLine>, at: string): SmokeCase {
  const { request, response } = recorded;
  const body = request.body === undefined ? undefined : typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  const method = (request.method ?? (body === undefined ? "GET" : "POST")).toUpperCase();
  const expected = response?.body;
  return {
    name: recorded.name ?? `${at} ${method} ${request.path}`,
    source: "recorded",
    method,
    path: request.path,
    headers: withContentType(request.headers ?? {}, body),
    body,
    repeat: 1,
    expect: {
      status: response?.status ?? (response ? 200 : undefined),
      tolerance: FLOAT_NOISE,
      ...(expected === undefined ? {} : typeof expected === "string" ? { text: expected } : { json: expected }),
    },
    timeoutMs: DEFAULT_TIMEOUT_MS,
    recordedLatencyMs: response?.latencyMs,
  };
}

/** Bodies are JSON unless the test says otherwise with its own Content-Type header. */
function withContentType(headers: Record<string, string>, body: string | undefined): Record<string, string> {
  if (body === undefined || Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) return { ...headers };
  return { "content-type": "application/json", ...headers };
}
