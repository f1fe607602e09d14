/**
 * `mlkube reproduce` of the iris fixture's production manifests on the simulator (or kind): run as
 * written but for what a laptop cannot have, replay of the recorded requests, and what the
 * production settings cause: an OOM kill under a memory limit too small for the model, a readiness
 * probe that fires before the model has loaded, and a changed response. One cluster for the file.
 */
import { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER, type CliResult } from "./support/cluster.js";
import { modelDir, predict, type ModelDir } from "./support/model-dir.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const NAME = uniqueName("e2e-repro").slice(0, 30);
const MODEL = "iris-sklearn";
const FAST = { MLKUBE_SIM_FAST_BACKOFF: "1" };
/** A model that takes 5 s to load, as a large one does, before it answers anything. */
const SLOW_LOAD = "import time\ntime.sleep(5)\n";

describeKind("reproduce production manifests", () => {
  let model: ModelDir;
  const variants: ModelDir[] = [];
  let apps: AppsV1Api;

  /** `mlkube reproduce MANIFESTS --model DIR --requests RECORDED`, as a user runs it. */
  function reproduce(manifests: string, dir: string, ...extra: string[]): Promise<CliResult> {
    const recorded = join(model.dir, "production/recorded-requests.jsonl");
    return mlkube(["reproduce", manifests, "--model", dir, "--requests", recorded, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, ...extra], { env: FAST });
  }

  /** A copy of the production manifests in the model copy, with the deployment edited. */
  async function production(folder: string, edit: (deployment: string) => string): Promise<string> {
    const target = join(model.dir, folder);
    await mkdir(target, { recursive: true });
    const deployment = await readFile(join(model.dir, "production/deployment.yaml"), "utf8");
    const edited = edit(deployment);
    expect(edited).not.toBe(deployment);
    await writeFile(join(target, "deployment.yaml"), edited);
    await writeFile(join(target, "service.yaml"), await readFile(join(model.dir, "production/service.yaml"), "utf8"));
    return target;
  }

  async function variant(change: (copy: ModelDir) => Promise<void>): Promise<ModelDir> {
    const copy = await modelDir(NAME);
    variants.push(copy);
    await change(copy);
    return copy;
  }

  beforeAll(async () => {
    model = await modelDir(NAME);
    const up = await mlkube(["up", model.dir], { env: FAST });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const kube = new KubeConfig();
    kube.loadFromDefault();
    kube.setCurrentContext(`kind-${NAME}`);
    apps = kube.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", model.dir]);
    for (const copy of [model, ...variants]) await copy.cleanup();
    await removeRepository(MODEL);
  });

  it("runs the production manifests as written but for the LoadBalancer, and every recorded response matches", async () => {
    const run = await reproduce(join(model.dir, "production"), model.dir);
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(0);
    expect(run.stdout).toContain("Service iris-sklearn: LoadBalancer -> NodePort 30080 (no load balancer on a local cluster)");
    expect(run.stdout).toMatch(/Deployment iris-sklearn: replicas 3 kept \(all fit: each pod requests 250m CPU and 256Mi memory; the local cluster/);
    expect(run.stdout).toContain("rollout: ready 3/3, answering at http://127.0.0.1:30080");
    expect(run.stdout).toContain("replay: 5 recorded request(s), 5 same, 0 different");
    expect(run.stdout).toMatch(/same {7}setosa +200 {2}\d+ ms \(recorded 6 ms\)/);
    expect(run.stdout).toContain("The reproduction keeps running");

    // Same resources, probes, env and command as production; only the image is the one built here.
    const deployment = await apps.readNamespacedDeployment({ name: MODEL, namespace: "default" });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(deployment.spec?.replicas).toBe(3);
    expect(container?.resources).toEqual({ requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
    expect(container?.readinessProbe?.initialDelaySeconds).toBe(5);
    expect(container?.env).toEqual([{ name: "MODEL_PATH", value: "/app/model.pkl" }]);
    expect(container?.image).toMatch(/iris-sklearn:[0-9a-f]{16}$/);
    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("reports an OOM kill under a production memory limit too small for the model, and skips the replay", async () => {
    const manifests = await production("production-oom", (text) => text.replace("memory: 256Mi", "memory: 32Mi").replace("memory: 512Mi", "memory: 40Mi"));
    const run = await reproduce(manifests, model.dir);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/rollout: FAILED \(oom-killed\): Container iris-sklearn of pod iris-sklearn-[a-z0-9-]+ was OOMKilled \(memory limit 40Mi\)/);
    expect(run.stdout).toContain("oom-killed: OOMKilled under the production memory limit (40Mi)");
    expect(run.stdout).toContain("replay: skipped, the rollout failed");
  });

  it("reports a readiness probe that fires before the model has loaded", async () => {
    const slow = await variant((copy) => copy.edit("app.py", /^/, SLOW_LOAD));
    const manifests = await production("production-early-probe", (text) =>
      text
        .replace("replicas: 3", "replicas: 1")
        .replace("initialDelaySeconds: 5\n            periodSeconds: 5", "initialDelaySeconds: 1\n            periodSeconds: 1"),
    );
    const run = await reproduce(manifests, slow.dir, "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      exitCode: number;
      findings: { kind: string; message: string; evidence: string[]; hint: string }[];
      replay: { same: boolean }[];
    };
    expect(report.exitCode).toBe(0);
    expect(report.replay.every((verdict) => verdict.same)).toBe(true);
    const early = report.findings.find((finding) => finding.kind === "readiness-too-early");
    expect(early, run.stdout).toBeDefined();
    expect(early?.message).toMatch(
      /^The readiness probe fired before the model had loaded: \d+ failed probe\(s\) before the pod became ready \(initialDelaySeconds 1; it answered after about \d+ s\)\.$/,
    );
    expect(early?.evidence.join("\n")).toMatch(/Readiness probe failed/);
    expect(early?.hint).toMatch(/Raise readinessProbe.initialDelaySeconds of container iris-sklearn to at least \d+/);
  });

  it("detects a changed response in the replay and exits 1; --cleanup removes the reproduction", async () => {
    const changed = await variant((copy) => copy.edit("app.py", "[int(value) for value in prediction]", "[int(value) % 2 for value in prediction]"));
    const run = await reproduce(join(model.dir, "production"), changed.dir, "--cleanup");
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("replay: 5 recorded request(s), 4 same, 1 different");
    expect(run.stdout).toMatch(/DIFFERENT {2}virginica +200 {2}\d+ ms \(recorded 5 ms\)\n {13}json\.prediction\[0\]: expected 2, got 0\n/);
    expect(run.stderr).toMatch(/cleanup: deleted .*Deployment\/default\/iris-sklearn/);
    await expect(apps.readNamespacedDeployment({ name: MODEL, namespace: "default" })).rejects.toThrow();
  });

  it("without --model keeps the production image, and the rollout says the node cannot pull it", async () => {
    const run = await mlkube(["reproduce", join(model.dir, "production"), "--context", `kind-${NAME}`, "--cleanup"], { env: FAST });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      "Deployment iris-sklearn: image registry.example.com/ml/iris-sklearn:1.4.2 kept as written (no --model): the node must be able to pull it",
    );
    expect(run.stdout).toMatch(/rollout: FAILED \(image-pull\): .*registry\.example\.com\/ml\/iris-sklearn:1\.4\.2/);
  });
});
