import { describe, expect, it } from "vitest";
import { checkResponse, describeMismatch, readJsonPath, type Expectations, type JsonValue, type ResponseSnapshot } from "../../src/core/expectations.js";

function response(body: JsonValue | string, options: { status?: number; latencyMs?: number; raw?: boolean } = {}): ResponseSnapshot {
  const text = options.raw ? (body as string) : JSON.stringify(body);
  let json: JsonValue | undefined;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch {
    json = undefined;
  }
  return { status: options.status ?? 200, bodyText: text, bodyLength: text.length, json, latencyMs: options.latencyMs ?? 12 };
}

const base: Expectations = { status: 200, tolerance: 0 };
const prediction = response({ prediction: [2], scores: { setosa: 0.1, virginica: 0.8 }, label: "virginica" });

// Each kind of expectation, passing and failing, with the message a user sees.
const table: { name: string; expect: Partial<Expectations>; response: ResponseSnapshot; messages: string[] }[] = [
  { name: "status passes", expect: { status: 200 }, response: prediction, messages: [] },
  { name: "status fails", expect: { status: 200 }, response: response({ error: "boom" }, { status: 500 }), messages: ["status: expected 200, got 500"] },
  { name: "no status expected: a 4xx is an answer", expect: { status: undefined }, response: response({}, { status: 404 }), messages: [] },
  {
    name: "no status expected: a 5xx is not",
    expect: { status: undefined },
    response: response({}, { status: 503 }),
    messages: ["status: expected an answer that is not a server error, got 503"],
  },
  {
    name: "json equal",
    expect: { json: { prediction: [2], scores: { setosa: 0.1, virginica: 0.8 }, label: "virginica" } },
    response: prediction,
    messages: [],
  },
  {
    name: "json differs in a nested value",
    expect: { json: { prediction: [0], scores: { setosa: 0.1, virginica: 0.8 }, label: "virginica" } },
    response: prediction,
    messages: ["json.prediction[0]: expected 0, got 2"],
  },
  {
    name: "json has an extra and a missing key",
    expect: { json: { prediction: [2], scores: { setosa: 0.1, virginica: 0.8 }, labels: ["virginica"] } },
    response: prediction,
    messages: ['json.labels: expected ["virginica"], got nothing (no such key)', 'json.label: expected no such key, got "virginica"'],
  },
  {
    name: "json array lengths differ",
    expect: { json: [1, 2] },
    response: response([1, 2, 3]),
    messages: ["json: expected [1,2] (2 items), got [1,2,3] (3 items)"],
  },
  { name: "json numbers within tolerance", expect: { json: { p: 0.5 }, tolerance: 0.01 }, response: response({ p: 0.505 }), messages: [] },
  {
    name: "json numbers outside tolerance",
    expect: { json: { p: 0.5 }, tolerance: 0.01 },
    response: response({ p: 0.52 }),
    messages: ["json.p: expected 0.5 (±0.01), got 0.52"],
  },
  { name: "json type differs", expect: { json: { p: "1" } }, response: response({ p: 1 }), messages: ['json.p: expected "1", got 1'] },
  {
    name: "json on a body that is not JSON",
    expect: { json: { ok: true } },
    response: response("<html>oops</html>", { raw: true }),
    messages: ['json: expected a JSON body, got "<html>oops</html>"'],
  },
  { name: "jsonSubset ignores other keys", expect: { jsonSubset: { scores: { virginica: 0.8 } } }, response: prediction, messages: [] },
  {
    name: "jsonSubset fails on a value",
    expect: { jsonSubset: { scores: { setosa: 0.9 } } },
    response: prediction,
    messages: ["jsonSubset.scores.setosa: expected 0.9, got 0.1"],
  },
  {
    name: "jsonSubset fails on a missing key",
    expect: { jsonSubset: { model: "v2" } },
    response: prediction,
    messages: ['jsonSubset.model: expected "v2", got nothing (no such key)'],
  },
  {
    name: "jsonSubset compares arrays element by element",
    expect: { jsonSubset: { items: [{ id: 1 }, { id: 3 }] } },
    response: response({ items: [{ id: 1, extra: true }, { id: 2 }] }),
    messages: ["jsonSubset.items[1].id: expected 3, got 2"],
  },
  { name: "jsonPath passes", expect: { jsonPath: { "prediction[0]": 2, "scores.setosa": 0.1, "$.label": "virginica" } }, response: prediction, messages: [] },
  {
    name: "jsonPath fails on a value",
    expect: { jsonPath: { "prediction[0]": 0 } },
    response: prediction,
    messages: ["jsonPath prediction[0]: expected 0, got 2"],
  },
  {
    name: "jsonPath on a missing index",
    expect: { jsonPath: { "prediction[3]": 0 } },
    response: prediction,
    messages: ["jsonPath prediction[3]: expected 0, got nothing (prediction has no item 3)"],
  },
  { name: "jsonPath with tolerance", expect: { jsonPath: { "scores.virginica": 0.79 }, tolerance: 0.05 }, response: prediction, messages: [] },
  { name: "contains passes", expect: { contains: "virginica" }, response: prediction, messages: [] },
  {
    name: "contains fails",
    expect: { contains: "setosa!" },
    response: response("all good", { raw: true }),
    messages: ['contains: expected the body to contain "setosa!", got "all good"'],
  },
  {
    name: "contains on an empty body",
    expect: { contains: "x" },
    response: response("", { raw: true }),
    messages: ['contains: expected the body to contain "x", got an empty body'],
  },
  { name: "text passes", expect: { text: "ok\n" }, response: response("ok\n", { raw: true }), messages: [] },
  { name: "text fails", expect: { text: "ok\n" }, response: response("not ok", { raw: true }), messages: ['body: expected "ok\\n", got "not ok"'] },
  { name: "latency within budget", expect: { latencyMs: 500 }, response: response({}, { latencyMs: 499.6 }), messages: [] },
  {
    name: "latency over budget",
    expect: { latencyMs: 500 },
    response: response({}, { latencyMs: 812.4 }),
    messages: ["latencyMs: expected at most 500 ms, got 812 ms"],
  },
  {
    name: "every unmet expectation is reported",
    expect: { status: 200, json: { prediction: [0] }, latencyMs: 5 },
    response: response({ prediction: [1] }, { status: 201, latencyMs: 9 }),
    messages: ["status: expected 200, got 201", "json.prediction[0]: expected 0, got 1", "latencyMs: expected at most 5 ms, got 9 ms"],
  },
];

describe("checkResponse", () => {
  it.each(table)("$name", ({ expect: expectation, response: actual, messages }) => {
    expect(checkResponse({ ...base, ...expectation }, actual).map(describeMismatch)).toEqual(messages);
  });

  it("lists five differences and counts the rest", () => {
    const expected = { prediction: Array.from({ length: 8 }, () => 0) };
    const actual = response({ prediction: Array.from({ length: 8 }, () => 1) });
    const messages = checkResponse({ ...base, json: expected }, actual).map(describeMismatch);
    expect(messages).toHaveLength(6);
    expect(messages[4]).toBe("json.prediction[4]: expected 0, got 1");
    expect(messages[5]).toBe("json: expected the values above, got 3 more differences");
  });

  it("names keys that are not identifiers with brackets", () => {
    const messages = checkResponse({ ...base, json: { "class 1": 1 } }, response({ "class 1": 2 })).map(describeMismatch);
    expect(messages).toEqual(['json["class 1"]: expected 1, got 2']);
  });
});

describe("readJsonPath", () => {
  const body: JsonValue = { prediction: [0, 2], scores: [{ label: "a" }, { label: "b" }], "x-y": { z: null } };
  it.each([
    ["prediction[1]", { found: true, value: 2 }],
    ["$.scores[1].label", { found: true, value: "b" }],
    ["x-y.z", { found: true, value: null }],
    ["prediction[2]", { found: false, missing: "prediction has no item 2" }],
    ["scores[0].name", { found: false, missing: 'scores[0] has no key "name"' }],
    ["missing", { found: false, missing: 'the body has no key "missing"' }],
  ])("%s", (path, expected) => {
    expect(readJsonPath(body, path)).toEqual(expected);
  });

  it("reads the root's items", () => {
    expect(readJsonPath([{ label: "a" }], "[0].label")).toEqual({ found: true, value: "a" });
  });
});
