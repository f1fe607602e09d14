/**
 * Smoke tests from a model server's own description (issue #16.3), for a model directory whose
 * mlkube.yaml has none: the Open Inference Protocol's model metadata gives a valid infer request,
 * an OpenAPI document (FastAPI, BentoML) a request built from its examples or its schema, and
 * KServe v1's model list the model-ready check, TorchServe its health check. Each test is the
 * `tests:` entry a user would write
 * (mlkube.yaml's own schema checks it), with where it came from.
 */
import { Document, isMap, isSeq, YAMLMap } from "yaml";
import { smokeTestSchema, type SmokeTest } from "../config/schema.js";
import type { JsonValue } from "./expectations.js";

/** A `tests:` entry as written in mlkube.yaml (what `mlkube test --print` prints). */
interface TestEntry {
  name: string;
  method?: "GET" | "POST";
  path: string;
  body?: JsonValue;
  expect: { status: number; jsonSubset?: Record<string, JsonValue>; jsonPath?: Record<string, JsonValue> };
}

export interface GeneratedTest {
  entry: TestEntry;
  test: SmokeTest;
  /** Shown with the results: "Open Inference Protocol metadata (GET /v2/models/iris)". */
  origin: string;
}

function generated(entry: TestEntry, origin: string): GeneratedTest {
  return { entry, test: smokeTestSchema.parse(entry), origin };
}

/** Tensors bigger than this are not sent as a smoke test (a 224×224×3 image is 150,528). */
const MAX_TENSOR_ELEMENTS = 1_000_000;

const OIP_DATATYPES = new Set(["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]);

interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/**
 * The infer test for one model from its Open Inference Protocol metadata (`GET /v2/models/NAME`:
 * `{name, platform, inputs: [{name, datatype, shape}], outputs: [...]}`, shape -1 for a dimension
 * of any size). Each input is sent as zeros (false, "" for BOOL and BYTES) in its shape with every
 * variable dimension 1; the answer must be 200 and name the model, and its one output if it has one.
 * A reason instead when the metadata cannot give a valid request.
 */
export function oipInferTest(metadata: unknown, askedPath: string): GeneratedTest | { reason: string } {
  const record = asRecord(metadata);
  const name = typeof record?.name === "string" && record.name !== "" ? record.name : undefined;
  if (!record || !name) return { reason: `${askedPath} is not Open Inference Protocol model metadata (no name)` };
  const inputs = tensors(record.inputs);
  if (!inputs || inputs.length === 0) return { reason: `${askedPath} lists no inputs with a name, datatype and shape` };
  const request: JsonValue[] = [];
  for (const input of inputs) {
    if (!OIP_DATATYPES.has(input.datatype)) return { reason: `input ${input.name} has datatype ${input.datatype}, which the protocol does not define` };
    const shape = input.shape.map((size) => (size > 0 ? size : 1));
    const elements = shape.reduce((product, size) => product * size, 1);
    if (elements > MAX_TENSOR_ELEMENTS)
      return { reason: `input ${input.name} has ${elements} elements (shape [${shape.join(", ")}]): too big for a generated request` };
    request.push({ name: input.name, shape, datatype: input.datatype, data: Array.from({ length: elements }, () => zeroOf(input.datatype)) });
  }
  const outputs = tensors(record.outputs) ?? [];
  const path = `/v2/models/${encodeURIComponent(name)}/infer`;
  const entry: TestEntry = {
    name: `POST ${path}`,
    path,
    body: { inputs: request },
    expect: { status: 200, jsonSubset: { model_name: name }, ...(outputs.length === 1 ? { jsonPath: { "outputs[0].name": outputs[0]!.name } } : {}) },
  };
  return generated(entry, `Open Inference Protocol metadata (GET ${askedPath})`);
}

function zeroOf(datatype: string): JsonValue {
  if (datatype === "BOOL") return false;
  if (datatype === "BYTES") return "";
  return 0;
}

function tensors(value: unknown): TensorMetadata[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list: TensorMetadata[] = [];
  for (const item of value) {
    const tensor = asRecord(item);
    if (!tensor || typeof tensor.name !== "string" || typeof tensor.datatype !== "string" || !Array.isArray(tensor.shape)) return undefined;
    if (!tensor.shape.every((size) => Number.isInteger(size))) return undefined;
    list.push({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape as number[] });
  }
  return list;
}

/**
 * KServe v1 describes no inputs, so its generated test is the model-ready check of each model
 * `GET /v1/models` listed: `GET /v1/models/NAME` answers `{"name": NAME, "ready": true}`.
 */
export function kserveV1Tests(names: readonly string[]): GeneratedTest[] {
  return names.map((name) => {
    const path = `/v1/models/${encodeURIComponent(name)}`;
    return generated({ name: `GET ${path}`, path, expect: { status: 200, jsonSubset: { name, ready: true } } }, "KServe v1 model list (GET /v1/models)");
  });
}

/**
 * TorchServe describes no models on its inference port (their list is on the management port), so
 * what it gives is its health check: `GET /ping` answers `{"status": "Healthy"}`. Only when the
 * server described nothing else.
 */
export function torchServeTests(ping: unknown): GeneratedTest[] {
  const status = asRecord(ping)?.status;
  if (status !== "Healthy") return [];
  return [
    generated(
      { name: "GET /ping", path: "/ping", expect: { status: 200, jsonSubset: { status: "Healthy" } } },
      "TorchServe health check (GET /ping; its inference port describes no model inputs)",
    ),
  ];
}

/** Paths that look like a prediction; the first POSTs of an OpenAPI document otherwise. */
const PREDICTION_PATH = /predict|infer|invocations|score|classif|generate|embed/i;
const MAX_OPENAPI_TESTS = 3;

/**
 * Tests from an OpenAPI 3 document (FastAPI serves one at /openapi.json): the POST operations
 * whose path looks like a prediction (else the first POSTs), each with the body its JSON request
 * content gives as an example, or else one built from its schema; path parameters from their
 * example, default or first enum value (an operation with one that has none is left out). The
 * answer must have the operation's first 2xx status.
 */
export function openApiTests(document: unknown, askedPath: string): { tests: GeneratedTest[]; reasons: string[] } {
  const doc = asRecord(document);
  if (!doc || typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.")) return { tests: [], reasons: [`${askedPath} is not an OpenAPI 3 document`] };
  const operations: { path: string; operation: Record<string, unknown> }[] = [];
  for (const [path, item] of Object.entries(asRecord(doc.paths) ?? {})) {
    const post = asRecord(asRecord(item)?.post);
    if (post) operations.push({ path, operation: post });
  }
  const predicting = operations.filter(({ path }) => PREDICTION_PATH.test(path));
  const chosen = (predicting.length > 0 ? predicting : operations).slice(0, MAX_OPENAPI_TESTS);
  const tests: GeneratedTest[] = [];
  const reasons: string[] = [];
  const resolver = new SchemaResolver(doc);
  for (const { path, operation } of chosen) {
    const concrete = fillPathParameters(path, operation, resolver);
    if ("reason" in concrete) {
      reasons.push(`POST ${path}: ${concrete.reason}`);
      continue;
    }
    const content = asRecord(asRecord(asRecord(resolver.resolve(operation.requestBody))?.content)?.["application/json"]);
    const body = content ? (exampleOf(content) ?? resolver.sample(content.schema)) : undefined;
    const status = Number(Object.keys(asRecord(operation.responses) ?? {}).find((code) => /^2\d\d$/.test(code)) ?? 200);
    const entry: TestEntry = {
      name: `POST ${concrete.path}`,
      method: "POST",
      path: concrete.path,
      ...(body === undefined ? {} : { body }),
      expect: { status },
    };
    tests.push(generated(entry, `OpenAPI document (GET ${askedPath})`));
  }
  if (operations.length === 0) reasons.push(`${askedPath} has no POST operation`);
  return { tests, reasons };
}

function fillPathParameters(path: string, operation: Record<string, unknown>, resolver: SchemaResolver): { path: string } | { reason: string } {
  let filled = path;
  for (const parameter of Array.isArray(operation.parameters) ? operation.parameters : []) {
    const param = asRecord(resolver.resolve(parameter));
    if (param?.in !== "path" || typeof param.name !== "string") continue;
    const schema = asRecord(resolver.resolve(param.schema));
    const value = param.example ?? schema?.example ?? schema?.default ?? (Array.isArray(schema?.enum) ? schema.enum[0] : undefined);
    if (value === undefined || value === null || typeof value === "object")
      return { reason: `path parameter ${param.name} has no example, default or enum to fill it with` };
    filled = filled.replace(`{${param.name}}`, encodeURIComponent(String(value)));
  }
  return /\{[^}]+\}/.test(filled) ? { reason: "a path parameter is not described" } : { path: filled };
}

/** An OpenAPI media type's own example: `example`, else the first of `examples`. */
function exampleOf(content: Record<string, unknown>): JsonValue | undefined {
  if (content.example !== undefined) return content.example as JsonValue;
  const first = Object.values(asRecord(content.examples) ?? {})[0];
  const value = asRecord(first)?.value;
  return value === undefined ? undefined : (value as JsonValue);
}

/** Follows local `$ref`s and builds a value that matches a JSON schema (depth-limited). */
class SchemaResolver {
  constructor(private readonly doc: Record<string, unknown>) {}

  resolve(value: unknown, seen = 0): unknown {
    const ref = asRecord(value)?.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#/") || seen > 20) return value;
    const target = ref
      .slice(2)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((node, part) => asRecord(node)?.[part], this.doc);
    return this.resolve(target, seen + 1);
  }

  sample(value: unknown, depth = 0): JsonValue {
    const schema = asRecord(this.resolve(value));
    if (!schema || depth > 8) return null;
    for (const key of ["example", "default", "const"] as const) if (schema[key] !== undefined) return schema[key] as JsonValue;
    if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0] as JsonValue;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] as JsonValue;
    if (Array.isArray(schema.allOf)) return Object.assign({}, ...schema.allOf.map((part) => this.sample(part, depth + 1)).filter(isObject));
    const options = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined;
    if (options) return this.sample(options.find((option) => asRecord(this.resolve(option))?.type !== "null") ?? options[0], depth + 1);
    const type = Array.isArray(schema.type) ? schema.type.find((entry) => entry !== "null") : schema.type;
    switch (type ?? (schema.properties ? "object" : schema.items ? "array" : undefined)) {
      case "object": {
        const properties = asRecord(schema.properties) ?? {};
        const required = Array.isArray(schema.required) ? schema.required.filter((key): key is string => typeof key === "string") : Object.keys(properties);
        return Object.fromEntries(required.map((key) => [key, this.sample(properties[key], depth + 1)]));
      }
      case "array": {
        const count = Math.max(1, typeof schema.minItems === "number" ? schema.minItems : 1);
        return Array.from({ length: Math.min(count, 100) }, () => this.sample(schema.items, depth + 1));
      }
      case "integer":
      case "number":
        return numberWithin(schema, type === "integer");
      case "boolean":
        return false;
      case "string":
        return schema.format === "date-time" ? "2026-01-01T00:00:00Z" : "x".repeat(Math.max(1, typeof schema.minLength === "number" ? schema.minLength : 1));
      default:
        return null;
    }
  }
}

function numberWithin(schema: Record<string, unknown>, integer: boolean): number {
  const step = integer ? 1 : 0.5;
  if (typeof schema.minimum === "number") return schema.minimum;
  if (typeof schema.exclusiveMinimum === "number") return schema.exclusiveMinimum + step;
  if (typeof schema.maximum === "number" && schema.maximum < 0) return schema.maximum;
  if (typeof schema.exclusiveMaximum === "number" && schema.exclusiveMaximum <= 0) return schema.exclusiveMaximum - step;
  return 0;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function isObject(value: JsonValue): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The tests as `mlkube.yaml` text to adopt and edit (`mlkube test --print`): each with where it
 * came from as a comment, its body and expectations in flow style (one line each).
 */
export function generatedTestsYaml(tests: readonly GeneratedTest[]): string {
  const doc = new Document({ tests: tests.map((test) => test.entry) });
  doc.commentBefore =
    " Smoke tests generated from the server's own description. Add them to mlkube.yaml and make\n" +
    " the bodies and expectations what your model should answer (e.g. expect: { json: ... }).";
  const list = doc.get("tests", true);
  if (isSeq(list)) {
    list.items.forEach((item, index) => {
      if (!isMap(item)) return;
      item.commentBefore = ` from ${tests[index]!.origin}`;
      for (const key of ["body", "expect"]) {
        const node = item.get(key, true);
        if (node instanceof YAMLMap || isSeq(node)) node.flow = true;
      }
    });
  }
  return doc.toString({ lineWidth: 0 });
}

/** "2 smoke tests generated from the server's description: Open Inference Protocol metadata (GET /v2/models/iris)" */
export function describeGenerated(tests: readonly GeneratedTest[]): string {
  const origins = [...new Set(tests.map((test) => test.origin))].join("; ");
  return `${tests.length} smoke test${tests.length === 1 ? "" : "s"} generated from the server's description: ${origins} ('mlkube test --print' writes them as mlkube.yaml)`;
}

/** What the server was asked and why nothing came of it, for the message when no test was generated. */
export function noTestsFound(found: { asked: readonly string[]; reasons: readonly string[] }): string {
  return [`asked ${found.asked.join(", ")}`, ...found.reasons].join("; ");
}
