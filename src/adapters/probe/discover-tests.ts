/**
 * Asks a running model server to describe itself and turns the answer into smoke tests
 * (core/generated-tests.ts): the Open Inference Protocol's model metadata, KServe v1's model list,
 * an OpenAPI document, TorchServe's health check. Only reads (GETs, and the protocol's read-only repository index), one at a
 * time, each with a short time limit; what was asked is kept for the message when nothing is found.
 */
import { kserveModelNames } from "../../core/health-endpoints.js";
import { kserveV1Tests, oipInferTest, openApiTests, torchServeTests, type GeneratedTest } from "../../core/generated-tests.js";
import { askServer, isSuccess } from "./ask-server.js";

export interface DiscoveredTests {
  tests: GeneratedTest[];
  /** Every request made, "GET /openapi.json 404", for the message when no test came of them. */
  asked: string[];
  /** Why a description the server gave produced no test. */
  reasons: string[];
}

const OPENAPI_PATHS = ["/openapi.json", "/docs.json"];
const MAX_MODELS = 3;

export async function discoverSmokeTests(baseUrl: string, modelName: string, signal?: AbortSignal): Promise<DiscoveredTests> {
  const asked: string[] = [];
  const reasons: string[] = [];
  const tests: GeneratedTest[] = [];
  const ask = async (method: "GET" | "POST", path: string): Promise<unknown> => {
    const answer = await askServer(`${baseUrl}${path}`, { method, signal });
    asked.push(`${method} ${path} ${answer ? answer.status : "no answer"}`);
    return isSuccess(answer) ? answer.json : undefined;
  };

  // Which models: the Open Inference Protocol's repository index (MLServer, Triton), KServe v1's list, else the model's own name.
  const indexed = repositoryNames(await ask("POST", "/v2/repository/index"));
  const kserveNames = kserveModelNames(await ask("GET", "/v1/models"));
  const names = [...new Set([...indexed, ...kserveNames, modelName])].slice(0, MAX_MODELS);

  for (const name of names) {
    const path = `/v2/models/${encodeURIComponent(name)}`;
    const metadata = await ask("GET", path);
    if (metadata === undefined) continue;
    const test = oipInferTest(metadata, path);
    if ("reason" in test) reasons.push(test.reason);
    else tests.push(test);
  }
  // KServe v1 has no inputs to describe; its ready check only where no infer test covers the model.
  const covered = new Set(tests.map((test) => test.entry.expect.jsonSubset?.model_name));
  tests.push(...kserveV1Tests(kserveNames.filter((name) => !covered.has(name)).slice(0, MAX_MODELS)));

  // FastAPI serves its OpenAPI document at /openapi.json, BentoML at /docs.json.
  for (const path of OPENAPI_PATHS) {
    const document = await ask("GET", path);
    if (document === undefined) continue;
    const found = openApiTests(document, path);
    const known = new Set(tests.map((test) => test.entry.path));
    tests.push(...found.tests.filter((test) => !known.has(test.entry.path)));
    reasons.push(...found.reasons);
    break;
  }
  if (tests.length === 0) tests.push(...torchServeTests(await ask("GET", "/ping")));
  return { tests, asked, reasons };
}

/** `[{"name": "iris", "state": "READY"}, ...]`: the names of the models the index lists. */
function repositoryNames(body: unknown): string[] {
  if (!Array.isArray(body)) return [];
  return body
    .map((entry: unknown) => (typeof entry === "object" && entry !== null ? (entry as { name?: unknown }).name : undefined))
    .filter((name): name is string => typeof name === "string" && name !== "");
}
