/**
 * Issue 16.1 and 16.2 on a KServe v1 style server (fixtures/kserve-v1-iris: 404 at "/", readiness
 * at GET /v1/models/iris). Without probe paths in mlkube.yaml, readiness waits for the port, mlkube
 * detects the health endpoint and writes it into the Deployment, and the loop reaches verified;
 * liveness never asks a guessed path. A readiness path that answers 404 every time fails within
 * seconds, naming the path, while the previous version keeps serving; so does a server listening on
 * another port than the probed one, named from its log. Issue 16.3 and 16.5: without
 * tests in mlkube.yaml the loop runs the tests the server describes (KServe v1's model list; the
 * Open Inference Protocol template's model metadata, deployed next to it on its own NodePort; the
 * BentoML and TorchServe fixtures' descriptions), and every `mlkube init` template is verified on
 * the cluster by its generated or written smoke tests.
 */
import { AppsV1Api, KubeConfig, type V1Container } from "@kubernetes/client-node";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixture, removeRepository, REPO_ROOT, uniqueName } from "../support/engine.js";
import { httpRequest } from "../support/http.js";
import { clusterYaml, mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, problemText, type DevRun } from "./support/model-dir.js";
import { waitForFreeNodePorts } from "./support/ports.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const NAME = uniqueName("e2e-ready").slice(0, 30);
const FIXTURE = "kserve-v1-iris";
/** Zero-config names the model after its directory, and copyFixture copies into one named "model". */
const MODEL = "model";
const OIP_MODEL = "oip-iris";

/** No port, probes or NodePort: only the cluster this file uses and the smoke tests that make "verified". */
const TESTS = `tests:
  - name: setosa
    path: /v1/models/iris:predict
    body: { instances: [[5.1, 3.5, 1.4, 0.2]] }
    expect: { status: 200, json: { predictions: [0] } }
  - name: model ready
    path: /v1/models/iris
    expect: { status: 200, jsonSubset: { ready: true } }
`;

const stageDetail = (run: DevRun, stage: string) => String(run.of("stage.done").find((event) => event.stage === stage)?.detail);

function readDeployment() {
  const kube = new KubeConfig();
  kube.loadFromDefault();
  kube.setCurrentContext(`kind-${NAME}`);
  return kube.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: MODEL, namespace: "default" });
}

async function modelContainer(): Promise<V1Container | undefined> {
  return (await readDeployment()).spec?.template.spec?.containers[0];
}

describeKind("readiness that fits the server", () => {
  let model: { dir: string; cleanup: () => Promise<void> };
  const config = (extra = "", tests = TESTS) => writeFile(join(model.dir, "mlkube.yaml"), `${clusterYaml(NAME)}${tests}${extra}`);
  /** Where the `mlkube init` templates are written. */
  let scaffolds: string | undefined;
  /** Other zero-config models deployed next to the first, each on its own NodePort. */
  const others: { dir: string; cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    model = await copyFixture(join(REPO_ROOT, "fixtures", FIXTURE));
    await config();
  });

  afterAll(async () => {
    if (scaffolds) await rm(scaffolds, { recursive: true, force: true });
    for (const other of others) await other.cleanup();
    if (model) {
      await mlkube(["down", "--yes", model.dir]);
      await model.cleanup();
    }
    await removeRepository(MODEL);
    await removeRepository(OIP_MODEL);
    for (const repository of ["bentoml-iris", "torchserve-iris", "sklearn-flask", "sklearn-fastapi"]) await removeRepository(repository);
  });

  it("zero-config: waits for the port, detects KServe v1's readiness path, writes it into the Deployment and reaches verified", async () => {
    const run = await devOnce(model.dir);
    const finished = run.of("iteration.finished")[0];
    expect(finished?.result, run.stdout + run.stderr).toBe("success");
    expect(finished?.testsPassed, run.stdout).toBe(2);
    expect(stageDetail(run, "rollout")).toContain("readiness: GET /v1/models/iris (KServe v1 model readiness)");
    const container = await modelContainer();
    expect(container?.readinessProbe?.httpGet?.path).toBe("/v1/models/iris");
    expect(container?.livenessProbe?.httpGet).toBeUndefined();
    expect(container?.livenessProbe?.tcpSocket?.port).toBe("http");
  });

  it("the next session starts with the detected path: applying it again changes nothing", async () => {
    const generation = (await readDeployment()).metadata?.generation;
    const run = await devOnce(model.dir);
    expect(run.of("iteration.finished")[0]?.result, run.stdout + run.stderr).toBe("success");
    expect(stageDetail(run, "rollout")).toContain("readiness: GET /v1/models/iris (KServe v1 model readiness)");
    expect((await readDeployment()).metadata?.generation).toBe(generation);
  });

  it("a readiness path that answers 404 every time fails in seconds, naming the path; the previous version keeps serving", async () => {
    await config("deploy:\n  probes:\n    readiness: { path: /health }\n");
    const run = await devOnce(model.dir);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const failed = run.of("stage.failed").find((event) => event.stage === "rollout");
    expect(failed, run.stdout).toBeDefined();
    expect(Number(failed?.ms)).toBeLessThan(10_000);
    const problem = problemText(run, "rollout");
    expect(problem).toMatch(
      /its readiness probe GET \/health answers 404 every time \(\d+ probes\); the server has no route at \/health\. The previous version keeps serving\./,
    );
    // The hint names the path the pod does answer, found by asking it.
    expect(problem).toContain(
      "The server answers GET /v1/models/iris with 200 (KServe v1 model readiness): set deploy.probes.readiness.path: /v1/models/iris in mlkube.yaml",
    );
    const answer = await httpRequest("http://127.0.0.1:30080/v1/models/iris:predict", { json: { instances: [[6.7, 3.0, 5.2, 2.3]] } });
    expect(answer).toEqual({ status: 200, text: '{"predictions": [2]}' });
  });

  it("a server listening on another port than the probed one fails in seconds, naming the port its log gives", async () => {
    await config('deploy:\n  env: { PORT: "9090" }\n');
    const run = await devOnce(model.dir);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const failed = run.of("stage.failed").find((event) => event.stage === "rollout");
    expect(Number(failed?.ms), run.stdout).toBeLessThan(30_000);
    const problem = problemText(run, "rollout");
    expect(problem).toMatch(
      /nothing accepts connections on port 8080 \(its readiness probe was refused \d+ times\), but the server's log says it listens on port 9090\./,
    );
    expect(problem).toContain("log: KServe v1 server for model iris listening on port 9090");
    expect(problem).toContain("Start the server on port 8080, or set port: 9090 in mlkube.yaml");
    // The previous version keeps serving.
    const answer = await httpRequest("http://127.0.0.1:30080/v1/models/iris:predict", { json: { instances: [[5.1, 3.5, 1.4, 0.2]] } });
    expect(answer).toEqual({ status: 200, text: '{"predictions": [0]}' });
  });

  it("without tests in mlkube.yaml, the loop runs the ones the server describes: KServe v1's model-ready check", async () => {
    await config("", "");
    const run = await devOnce(model.dir);
    const finished = run.of("iteration.finished")[0];
    expect(finished?.result, run.stdout + run.stderr).toBe("success");
    expect(finished?.testsPassed, run.stdout).toBe(1);
    expect(stageDetail(run, "test")).toBe(
      "1 passed; 1 smoke test generated from the server's description: KServe v1 model list (GET /v1/models) ('mlkube test --print' writes them as mlkube.yaml)",
    );
  });

  it("the Open Inference Protocol template, with no tests and its own NodePort, is verified by the infer request its model metadata describes", async () => {
    scaffolds ??= await mkdtemp(join(tmpdir(), "mlkube-e2e-init-"));
    const dir = join(scaffolds, OIP_MODEL);
    const init = await mlkube(["init", dir, "--template", "sklearn-oip"]);
    expect(init.code, init.stderr).toBe(0);
    await writeFile(join(dir, "mlkube.yaml"), `${await readFile(join(dir, "mlkube.yaml"), "utf8")}\n${clusterYaml(NAME)}`);
    const run = await devOnce(dir);
    const finished = run.of("iteration.finished")[0];
    expect(finished?.result, run.stdout + run.stderr).toBe("success");
    expect(finished?.testsPassed, run.stdout).toBe(1);
    expect(stageDetail(run, "test")).toContain(
      `1 smoke test generated from the server's description: Open Inference Protocol metadata (GET /v2/models/${OIP_MODEL})`,
    );
    // A user's curl gets the model's answer on the port mlkube chose.
    const url = String(run.of("endpoint")[0]?.url);
    const answer = await httpRequest(`${url}/v2/models/${OIP_MODEL}/infer`, {
      json: { inputs: [{ name: "input-0", shape: [1, 4], datatype: "FP32", data: [6.7, 3.0, 5.2, 2.3] }] },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ model_name: OIP_MODEL, outputs: [{ name: "predict", datatype: "INT64", shape: [1], data: [2] }] });
  });

  it.each([
    { fixture: "bentoml-iris", readiness: "GET /readyz (BentoML)", generated: "OpenAPI document (GET /docs.json)" },
    { fixture: "torchserve-iris", readiness: "GET /ping (TorchServe)", generated: "TorchServe health check (GET /ping" },
  ])("zero-config $fixture: readiness detected, a generated smoke test passes", async ({ fixture, readiness, generated }) => {
    const copy = await copyFixture(join(REPO_ROOT, "fixtures", fixture));
    others.push(copy);
    // Its own name: a Deployment and a NodePort of its own next to the models above.
    await writeFile(join(copy.dir, "mlkube.yaml"), `name: ${fixture}\n${clusterYaml(NAME)}`);
    const run = await devOnce(copy.dir);
    const finished = run.of("iteration.finished")[0];
    expect(finished?.result, run.stdout + run.stderr).toBe("success");
    expect(finished?.testsPassed, run.stdout).toBe(1);
    expect(stageDetail(run, "rollout")).toContain(`readiness: ${readiness}`);
    expect(stageDetail(run, "test")).toContain(`1 smoke test generated from the server's description: ${generated}`);
  });

  it.each(["sklearn-flask", "sklearn-fastapi"])("the %s template, as `mlkube init` writes it, is verified by its own smoke tests", async (template) => {
    scaffolds ??= await mkdtemp(join(tmpdir(), "mlkube-e2e-init-"));
    const dir = join(scaffolds, template);
    const init = await mlkube(["init", dir, "--template", template]);
    expect(init.code, init.stderr).toBe(0);
    await writeFile(join(dir, "mlkube.yaml"), `${await readFile(join(dir, "mlkube.yaml"), "utf8")}\n${clusterYaml(NAME)}`);
    const run = await devOnce(dir);
    const finished = run.of("iteration.finished")[0];
    expect(finished?.result, run.stdout + run.stderr).toBe("success");
    expect(finished?.testsPassed, run.stdout).toBe(5);
    expect(finished?.testsFailed, run.stdout).toBe(0);
  });
});
