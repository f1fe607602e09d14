import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.js";
import { generatedTestsYaml, kserveV1Tests, oipInferTest, openApiTests, type GeneratedTest } from "../../src/core/generated-tests.js";

/** Model metadata as MLServer answers GET /v2/models/iris for a scikit-learn model. */
const IRIS_METADATA = {
  name: "iris",
  versions: [],
  platform: "sklearn",
  inputs: [{ name: "input-0", datatype: "FP32", shape: [-1, 4], parameters: { content_type: "np" } }],
  outputs: [{ name: "predict", datatype: "INT64", shape: [-1] }],
};

function generatedOrFail(result: GeneratedTest | { reason: string }): GeneratedTest {
  if ("reason" in result) throw new Error(result.reason);
  return result;
}

describe("tests from Open Inference Protocol model metadata", () => {
  it("sends each input as zeros in its shape, variable dimensions as 1, and expects the model and its output named", () => {
    const test = generatedOrFail(oipInferTest(IRIS_METADATA, "/v2/models/iris"));
    expect(test.entry).toEqual({
      name: "POST /v2/models/iris/infer",
      path: "/v2/models/iris/infer",
      body: { inputs: [{ name: "input-0", shape: [1, 4], datatype: "FP32", data: [0, 0, 0, 0] }] },
      expect: { status: 200, jsonSubset: { model_name: "iris" }, jsonPath: { "outputs[0].name": "predict" } },
    });
    expect(test.test).toMatchObject({ method: "POST", path: "/v2/models/iris/infer", repeat: 1, expect: { status: 200, tolerance: 0 } });
    expect(test.origin).toBe("Open Inference Protocol metadata (GET /v2/models/iris)");
  });

  it("gives BOOL and BYTES inputs their own zero values and leaves out the output check for several outputs", () => {
    const metadata = {
      name: "text",
      platform: "python",
      inputs: [
        { name: "flag", datatype: "BOOL", shape: [2] },
        { name: "text", datatype: "BYTES", shape: [1] },
      ],
      outputs: [
        { name: "a", datatype: "FP32", shape: [1] },
        { name: "b", datatype: "FP32", shape: [1] },
      ],
    };
    const test = generatedOrFail(oipInferTest(metadata, "/v2/models/text"));
    expect(test.entry.body).toEqual({
      inputs: [
        { name: "flag", shape: [2], datatype: "BOOL", data: [false, false] },
        { name: "text", shape: [1], datatype: "BYTES", data: [""] },
      ],
    });
    expect(test.entry.expect).toEqual({ status: 200, jsonSubset: { model_name: "text" } });
  });

  it("says why when the metadata cannot give a valid request", () => {
    expect(oipInferTest({ detail: "Not Found" }, "/v2/models/x")).toEqual({ reason: "/v2/models/x is not Open Inference Protocol model metadata (no name)" });
    expect(oipInferTest({ name: "x", inputs: [] }, "/v2/models/x")).toEqual({ reason: "/v2/models/x lists no inputs with a name, datatype and shape" });
    expect(oipInferTest({ name: "x", inputs: [{ name: "i", datatype: "FLOAT", shape: [1] }] }, "/v2/models/x")).toEqual({
      reason: "input i has datatype FLOAT, which the protocol does not define",
    });
    expect(oipInferTest({ name: "x", inputs: [{ name: "image", datatype: "UINT8", shape: [-1, 3, 1024, 1024] }] }, "/v2/models/x")).toEqual({
      reason: "input image has 3145728 elements (shape [1, 3, 1024, 1024]): too big for a generated request",
    });
  });
});

describe("tests from KServe v1", () => {
  it("checks that each listed model is ready", () => {
    const [test] = kserveV1Tests(["iris"]);
    expect(test?.entry).toEqual({ name: "GET /v1/models/iris", path: "/v1/models/iris", expect: { status: 200, jsonSubset: { name: "iris", ready: true } } });
    expect(test?.test.method).toBe("GET");
  });
});

/** The shape FastAPI 0.92 gives a POST /predict whose body model has a schema example, and a second route. */
const FASTAPI_DOCUMENT = {
  openapi: "3.0.2",
  info: { title: "model", version: "0.1.0" },
  paths: {
    "/": { get: { responses: { "200": { description: "Successful Response" } } } },
    "/predict": {
      post: {
        requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/PredictRequest" } } }, required: true },
        responses: { "200": { description: "Successful Response" }, "422": { description: "Validation Error" } },
      },
    },
    "/feedback": {
      post: {
        requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Feedback" } } } },
        responses: { "201": { description: "Created" } },
      },
    },
  },
  components: {
    schemas: {
      PredictRequest: {
        title: "PredictRequest",
        required: ["features"],
        type: "object",
        properties: {
          features: {
            title: "Features",
            anyOf: [
              { type: "array", items: { type: "array", items: { type: "number" } } },
              { type: "array", items: { type: "number" } },
            ],
          },
        },
        example: { features: [5.1, 3.5, 1.4, 0.2] },
      },
      Feedback: {
        type: "object",
        required: ["label", "score", "when", "tags"],
        properties: {
          label: { type: "string", enum: ["good", "bad"] },
          score: { type: "integer", exclusiveMinimum: 0 },
          when: { type: "string", format: "date-time" },
          tags: { type: "array", minItems: 2, items: { type: "string" } },
          note: { type: "string" },
        },
      },
    },
  },
};

describe("tests from an OpenAPI document", () => {
  it("prefers prediction routes, and takes the body from the schema's example", () => {
    const { tests, reasons } = openApiTests(FASTAPI_DOCUMENT, "/openapi.json");
    expect(reasons).toEqual([]);
    expect(tests.map((test) => test.entry)).toEqual([
      { name: "POST /predict", method: "POST", path: "/predict", body: { features: [5.1, 3.5, 1.4, 0.2] }, expect: { status: 200 } },
    ]);
    expect(tests[0]?.origin).toBe("OpenAPI document (GET /openapi.json)");
  });

  it("builds a body from the schema's types when it has no example, with the operation's 2xx status", () => {
    const document = { ...FASTAPI_DOCUMENT, paths: { "/feedback": FASTAPI_DOCUMENT.paths["/feedback"] } };
    const { tests } = openApiTests(document, "/openapi.json");
    expect(tests.map((test) => test.entry)).toEqual([
      {
        name: "POST /feedback",
        method: "POST",
        path: "/feedback",
        body: { label: "good", score: 1, when: "2026-01-01T00:00:00Z", tags: ["x", "x"] },
        expect: { status: 201 },
      },
    ]);
  });

  it("fills path parameters from their example or enum, and leaves out an operation whose parameter has none", () => {
    const document = {
      openapi: "3.1.0",
      paths: {
        "/v1/models/{model_name}:predict": {
          post: { parameters: [{ name: "model_name", in: "path", required: true, schema: { type: "string", enum: ["iris"] } }], responses: { "200": {} } },
        },
        "/v1/things/{id}/infer": { post: { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": {} } } },
      },
    };
    const { tests, reasons } = openApiTests(document, "/openapi.json");
    expect(tests.map((test) => test.entry.path)).toEqual(["/v1/models/iris:predict"]);
    expect(reasons).toEqual(["POST /v1/things/{id}/infer: path parameter id has no example, default or enum to fill it with"]);
  });

  it("says why when there is nothing to test", () => {
    expect(openApiTests({ swagger: "2.0" }, "/openapi.json").reasons).toEqual(["/openapi.json is not an OpenAPI 3 document"]);
    expect(openApiTests({ openapi: "3.0.2", paths: { "/": { get: {} } } }, "/openapi.json").reasons).toEqual(["/openapi.json has no POST operation"]);
  });
});

describe("mlkube test --print", () => {
  it("writes the tests as mlkube.yaml text that loads back as the same tests, each with its origin", () => {
    const tests = [generatedOrFail(oipInferTest(IRIS_METADATA, "/v2/models/iris")), ...kserveV1Tests(["iris"])];
    const text = generatedTestsYaml(tests);
    expect(text).toContain("# from Open Inference Protocol metadata (GET /v2/models/iris)\n");
    expect(text).toContain("    body: { inputs: [ { name: input-0, shape: [ 1, 4 ], datatype: FP32, data: [ 0, 0, 0, 0 ] } ] }\n");
    const loaded = configSchema.parse(parse(text));
    expect(loaded.tests).toEqual(tests.map((test) => test.test));
  });
});
