import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../../src/config/json-schema.js";
import { configSchema } from "../../src/config/schema.js";

type JsonSchema = Record<string, unknown>;

// Ajv is the validator editor tooling (yaml-language-server) builds on: if Ajv accepts the schema
// and agrees with mlkube on good and bad files, editors will too.
/** The instance paths Ajv flags, with the failing keyword, sorted. */
function check(schema: JsonSchema, value: unknown): string[] {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  if (validate(value)) return [];
  const problems = (validate.errors ?? []).map((error) => {
    const extra = error.keyword === "additionalProperties" ? `/${(error.params as { additionalProperty: string }).additionalProperty}` : "";
    return `${error.instancePath}${extra}: ${error.keyword}`;
  });
  return [...new Set(problems)].sort();
}

const GOOD_CONFIG = {
  name: "iris",
  namespace: "ml",
  build: { context: ".", dockerfile: "Dockerfile", args: { MODEL: "iris" }, target: "serve" },
  image: { repository: "localhost:5001/iris" },
  port: 8080,
  service: { nodePort: 30081 },
  deploy: {
    replicas: 2,
    env: { LOG_LEVEL: "debug" },
    resources: { requests: { cpu: "500m", memory: "256Mi" }, limits: { cpu: 1, memory: "1G" } },
    probes: { readiness: { path: "/ready", periodSeconds: 1 }, liveness: { path: "/live", initialDelaySeconds: 60 } },
    rolloutTimeoutSeconds: 300,
  },
  cluster: { provider: "kind", name: "dev", context: "kind-dev", registry: "localhost:5001", nodePorts: "30180-30184" },
  watch: { ignore: ["*.ipynb"], debounceMs: 300 },
  manifests: ["k8s/"],
  tests: [
    {
      name: "predict",
      path: "/predict",
      body: { x: [[5.1, 3.5, 1.4, 0.2]] },
      headers: { "x-key": "k" },
      repeat: 3,
      expect: { status: 200, jsonPath: { "prediction[0]": 0 }, tolerance: 0.01, latencyMs: 500 },
    },
    { path: "/health", method: "GET", expect: { contains: "ok", json: { status: "ok" }, jsonSubset: { status: "ok" } } },
  ],
  requests: "recorded.jsonl",
  sync: [
    { src: "app.py", dest: "/app/" },
    { src: "conf/*.yaml", dest: "/etc/model/" },
  ],
  restart: "process",
};

describe("JSON Schema", () => {
  const schema = configJsonSchema();

  it("is a draft-07 schema with a title and description, strict at the top", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.title).toBe("mlkube.yaml");
    expect(schema.description).toEqual(expect.any(String));
    expect(schema.type).toBe("object");
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toBeUndefined();
    expect(Object.keys(schema.properties as object)).toEqual(Object.keys(configSchema.shape));
  });

  it("describes every top-level field", () => {
    for (const [key, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      expect(property.description, key).toEqual(expect.any(String));
    }
  });

  it("accepts a configuration that uses every field", () => {
    expect(configSchema.safeParse(GOOD_CONFIG).success).toBe(true);
    expect(check(schema, GOOD_CONFIG)).toEqual([]);
  });

  it("flags unknown keys, wrong types and bad values the way mlkube does", () => {
    const bad = {
      deploy: { replica: 2, resources: { limits: { memory: "256MB" } } },
      port: 0,
      cluster: { provider: "kinde" },
      sync: [{ src: "app.py", dest: "app/" }],
      restart: "always",
    };
    expect(configSchema.safeParse(bad).success).toBe(false);
    expect(check(schema, bad)).toEqual(
      expect.arrayContaining([
        "/cluster/provider: enum",
        "/deploy/replica: additionalProperties",
        "/deploy/resources/limits/memory: anyOf",
        "/port: minimum",
        "/restart: enum",
        "/sync: anyOf",
        "/sync/0/dest: pattern",
      ]),
    );
    expect(check(schema, { sync: true })).toEqual(["/sync: anyOf", "/sync: const", "/sync: type"]);
    expect(check(schema, { sync: false })).toEqual([]);
  });

  it("documents the defaults", () => {
    const properties = schema.properties as Record<string, JsonSchema>;
    expect(properties.namespace?.default).toBe("default");
    const service = properties.service?.properties as Record<string, JsonSchema>;
    expect(service.nodePort?.default).toBe(30080);
  });
});
