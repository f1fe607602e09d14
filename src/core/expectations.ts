/**
 * Whether one HTTP response meets a smoke test's expectations. Pure: the response comes in as a
 * snapshot, the verdict goes out as mismatches that show expected and actual side by side, e.g.
 * `json.prediction[0]: expected 0, got 2`.
 */
import type { SmokeTest } from "../config/schema.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What mlkube keeps of one response: enough to show what came back and to compare iterations. */
export interface ResponseSnapshot {
  status: number;
  /** The body as text, cut to BODY_TEXT_LIMIT characters (a model may answer megabytes). */
  bodyText: string;
  /** Length of the whole body, in characters. */
  bodyLength: number;
  /** The parsed body, when it is JSON. */
  json: JsonValue | undefined;
  latencyMs: number;
}

export const BODY_TEXT_LIMIT = 4096;

/** Serializers round floats differently; differences this small are noise, not changes. */
export const FLOAT_NOISE = 1e-9;

/**
 * A test's `expect`, plus what recorded cases need: `status` undefined means "any answer that is not
 * a server error" (a recorded request without a recorded response), `text` an exact body that is
 * not JSON.
 */
export type Expectations = Omit<SmokeTest["expect"], "status"> & {
  status: number | undefined;
  text?: string | undefined;
};

/** One unmet expectation. `what` names it: "status", "json.prediction[0]", "latencyMs", ... */
export interface Mismatch {
  what: string;
  expected: string;
  actual: string;
}

export function describeMismatch(mismatch: Mismatch): string {
  return `${mismatch.what}: expected ${mismatch.expected}, got ${mismatch.actual}`;
}

/** Differences listed per expectation before the rest are summed up in one line. */
const MAX_DIFFERENCES = 5;

export function checkResponse(expect: Expectations, response: ResponseSnapshot): Mismatch[] {
  const mismatches: Mismatch[] = [];
  if (expect.status !== undefined && response.status !== expect.status) {
    mismatches.push({ what: "status", expected: String(expect.status), actual: String(response.status) });
  }
  if (expect.status === undefined && response.status >= 500) {
    mismatches.push({ what: "status", expected: "an answer that is not a server error", actual: String(response.status) });
  }
  const tolerance = expect.tolerance;
  if (expect.json !== undefined) {
    mismatches.push(...withJson(response, "json", (json) => capped("json", diffJson(expect.json as JsonValue, json, "json", { tolerance, subset: false }))));
  }
  if (expect.jsonSubset !== undefined) {
    mismatches.push(
      ...withJson(response, "jsonSubset", (json) =>
        capped("jsonSubset", diffJson(expect.jsonSubset as JsonValue, json, "jsonSubset", { tolerance, subset: true })),
      ),
    );
  }
  for (const [path, expected] of Object.entries(expect.jsonPath ?? {})) {
    const what = `jsonPath ${path}`;
    mismatches.push(
      ...withJson(response, what, (json) => {
        const found = readJsonPath(json, path);
        if (!found.found) return [{ what, expected: formatValue(expected), actual: `nothing (${found.missing})` }];
        return capped(what, diffJson(expected, found.value, what, { tolerance, subset: false }));
      }),
    );
  }
  if (expect.contains !== undefined && !response.bodyText.includes(expect.contains)) {
    mismatches.push({ what: "contains", expected: `the body to contain ${JSON.stringify(expect.contains)}`, actual: quoteBody(response) });
  }
  if (expect.text !== undefined && response.bodyText !== expect.text) {
    mismatches.push({ what: "body", expected: formatValue(expect.text), actual: quoteBody(response) });
  }
  if (expect.latencyMs !== undefined && response.latencyMs > expect.latencyMs) {
    mismatches.push({ what: "latencyMs", expected: `at most ${expect.latencyMs} ms`, actual: `${Math.round(response.latencyMs)} ms` });
  }
  return mismatches;
}

function withJson(response: ResponseSnapshot, what: string, check: (json: JsonValue) => Mismatch[]): Mismatch[] {
  if (response.json === undefined) return [{ what, expected: "a JSON body", actual: quoteBody(response) }];
  return check(response.json);
}

function capped(what: string, mismatches: Mismatch[]): Mismatch[] {
  if (mismatches.length <= MAX_DIFFERENCES) return mismatches;
  const rest = mismatches.length - MAX_DIFFERENCES;
  return [...mismatches.slice(0, MAX_DIFFERENCES), { what, expected: "the values above", actual: `${rest} more difference${rest === 1 ? "" : "s"}` }];
}

interface DiffOptions {
  /** Numbers may differ by this much. */
  tolerance: number;
  /** Objects may have keys the expected value does not mention (recursively). */
  subset: boolean;
}

/**
 * Every place where `actual` differs from `expected`, named by its path from `at`. Arrays are
 * compared element by element and must have the same length, also in subset mode.
 */
export function diffJson(expected: JsonValue, actual: JsonValue, at: string, options: DiffOptions): Mismatch[] {
  if (typeof expected === "number" && typeof actual === "number") {
    if (Math.abs(expected - actual) <= options.tolerance) return [];
    // A user's tolerance is worth showing; the float-noise allowance is not.
    const within = options.tolerance > FLOAT_NOISE ? ` (±${options.tolerance})` : "";
    return [{ what: at, expected: `${formatValue(expected)}${within}`, actual: formatValue(actual) }];
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      return [{ what: at, expected: `${formatValue(expected)} (${items(expected.length)})`, actual: `${formatValue(actual)} (${items(actual.length)})` }];
    }
    return expected.flatMap((item, index) => diffJson(item, actual[index] as JsonValue, `${at}[${index}]`, options));
  }
  if (isObject(expected) && isObject(actual)) {
    const differences = Object.entries(expected).flatMap(([key, value]) =>
      key in actual
        ? diffJson(value, actual[key] as JsonValue, childPath(at, key), options)
        : [{ what: childPath(at, key), expected: formatValue(value), actual: "nothing (no such key)" }],
    );
    if (options.subset) return differences;
    const extra = Object.keys(actual).filter((key) => !(key in expected));
    return [...differences, ...extra.map((key) => ({ what: childPath(at, key), expected: "no such key", actual: formatValue(actual[key] as JsonValue) }))];
  }
  return expected === actual ? [] : [{ what: at, expected: formatValue(expected), actual: formatValue(actual) }];
}

type PathLookup = { found: true; value: JsonValue } | { found: false; missing: string };

/** The value at a path such as `prediction[0]`, `$.scores[1].label` or `scores.setosa` (see JSON_PATH). */
export function readJsonPath(root: JsonValue, path: string): PathLookup {
  let value: JsonValue = root;
  let walked = "";
  for (const step of pathSteps(path)) {
    const next: JsonValue | undefined =
      typeof step === "number" ? (Array.isArray(value) ? value[step] : undefined) : isObject(value) && Object.hasOwn(value, step) ? value[step] : undefined;
    if (next === undefined) {
      const where = walked === "" ? "the body" : walked;
      return { found: false, missing: typeof step === "number" ? `${where} has no item ${step}` : `${where} has no key ${JSON.stringify(step)}` };
    }
    walked = typeof step === "number" ? `${walked}[${step}]` : walked === "" ? step : `${walked}.${step}`;
    value = next;
  }
  return { found: true, value };
}

function pathSteps(path: string): (string | number)[] {
  return [...path.replace(/^\$/, "").matchAll(/\.?([A-Za-z_][\w-]*)|\[(\d+)\]/g)].map((match) =>
    match[2] !== undefined ? Number(match[2]) : (match[1] as string),
  );
}

function childPath(at: string, key: string): string {
  return /^[A-Za-z_][\w-]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function items(count: number): string {
  return `${count} item${count === 1 ? "" : "s"}`;
}

/** A JSON value on one line, cut short enough to sit beside another in a message. */
export function formatValue(value: JsonValue, limit = 80): string {
  const text = JSON.stringify(value);
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function quoteBody(response: ResponseSnapshot): string {
  if (response.bodyLength === 0) return "an empty body";
  return formatValue(response.bodyText);
}
