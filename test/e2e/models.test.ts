/**
 * Issue 16.4: several models on one cluster. Zero-config models get a free NodePort each from the
 * ports the kind cluster maps, keep it across sessions (remembered per model directory), and a
 * NodePort another model holds is explained, with the holder's name, before anything is applied.
 * `mlkube status` lists every model with its URL. One cluster for the file; the tests run in order.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, modelDir, predict, problemText, type DevRun, type ModelDir } from "./support/model-dir.js";
import { waitForFreeNodePorts } from "./support/ports.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const NAME = uniqueName("e2e-models").slice(0, 30);
const MODELS = ["model-a", "model-b", "model-c"];

/** A copy of the iris fixture named NAME, with no service.nodePort (zero-config) unless one is given. */
async function namedModel(name: string, nodePort?: number): Promise<ModelDir> {
  const model = await modelDir(NAME);
  await model.edit("mlkube.yaml", "name: iris-sklearn", `name: ${name}`);
  await model.edit("mlkube.yaml", "service:\n  nodePort: 30080\n", nodePort === undefined ? "" : `service:\n  nodePort: ${nodePort}\n`);
  return model;
}

function kubeConfig(): KubeConfig {
  const kube = new KubeConfig();
  kube.loadFromDefault();
  kube.setCurrentContext(`kind-${NAME}`);
  return kube;
}
const apps = () => kubeConfig().makeApiClient(AppsV1Api);
const core = () => kubeConfig().makeApiClient(CoreV1Api);

const applyDetail = (run: DevRun) => String(run.of("stage.done").find((event) => event.stage === "apply")?.detail);

function expectVerified(run: DevRun): void {
  const finished = run.of("iteration.finished")[0];
  expect(finished?.result, run.stdout + run.stderr).toBe("success");
  expect(finished?.testsPassed, run.stdout).toBe(3);
  expect(finished?.testsFailed, run.stdout).toBe(0);
}

describeKind("several models on one cluster", () => {
  const models: ModelDir[] = [];
  let a: ModelDir;
  let b: ModelDir;

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    a = await namedModel("model-a");
    b = await namedModel("model-b");
    models.push(a, b);
    const up = await mlkube(["up", a.dir], { env: { MLKUBE_SIM_FAST_BACKOFF: "1" } });
    expect(up.code, up.stdout + up.stderr).toBe(0);
  });

  afterAll(async () => {
    if (a) await mlkube(["down", "--yes", a.dir]);
    for (const model of models) await model.cleanup();
    for (const repository of MODELS) await removeRepository(repository);
  });

  it("runs two zero-config models side by side, each on its own mapped port, both verified", async () => {
    const first = await devOnce(a.dir);
    expectVerified(first);
    expect(applyDetail(first)).toContain("NodePort 30080: the first free port the cluster maps to 127.0.0.1");
    expect(first.of("endpoint")[0]?.url).toBe("http://127.0.0.1:30080");

    const second = await devOnce(b.dir);
    expectVerified(second);
    expect(applyDetail(second)).toContain(
      "NodePort 30081: the first free port the cluster maps to 127.0.0.1 (30080: Service default/model-a (mlkube model model-a))",
    );
    expect(second.of("endpoint")[0]?.url).toBe("http://127.0.0.1:30081");

    // Both answer, each on its own port, as a user's curl would see them.
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
    expect(await predict(30081)).toEqual({ status: 200, body: { prediction: [0] } });

    const status = await mlkube(["status", a.dir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/default\/model-a {2}ready 1\/1 .* http:\/\/127\.0\.0\.1:30080$/m);
    expect(status.stdout).toMatch(/default\/model-b {2}ready 1\/1 .* http:\/\/127\.0\.0\.1:30081$/m);
  });

  it("keeps a model's port in its next session, though its Service is gone and a lower port is free", async () => {
    // Both models removed from the cluster (as 'dev --cleanup' does): only mlkube's memory of the port is left.
    for (const name of ["model-a", "model-b"]) {
      await apps().deleteNamespacedDeployment({ name, namespace: "default" });
      await core().deleteNamespacedService({ name, namespace: "default" });
    }
    const again = await devOnce(b.dir);
    expectVerified(again);
    expect(applyDetail(again)).toContain("NodePort 30081: this model's port in earlier sessions");
    expect(again.of("endpoint")[0]?.url).toBe("http://127.0.0.1:30081");
  });

  it("explains a NodePort another model holds, naming it and the way out, before applying anything", async () => {
    const again = await devOnce(a.dir);
    expectVerified(again);
    expect(applyDetail(again)).toContain("NodePort 30080: this model's port in earlier sessions");
    const c = await namedModel("model-c", 30081);
    models.push(c);
    const run = await devOnce(c.dir);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const problem = problemText(run, "apply");
    expect(problem).toContain(
      'NodePort 30081 of Service default/model-c is already taken by Service default/model-b (mlkube model model-b); the cluster would refuse it ("provided port is already allocated"). Nothing was applied.',
    );
    expect(problem).toContain("Remove service.nodePort from mlkube.yaml so mlkube picks a free port (free now: 30082, 30083, 30084)");
    expect(problem).toContain("kubectl delete deployment,service -n default -l mlkube.dev/model=model-b");
    const deployments = await apps().listNamespacedDeployment({ namespace: "default" });
    expect(deployments.items.map((item) => item.metadata?.name).sort()).toEqual(["model-a", "model-b"]);
    expect(await predict(30081)).toEqual({ status: 200, body: { prediction: [0] } });
  });
});
