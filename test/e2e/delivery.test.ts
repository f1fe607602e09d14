/**
 * Issue 4, image delivery through `mlkube dev --once --json`: by registry only the changed layer
 * moves; by load the node holds the exact image ID and the pod serves /predict.
 * The two clusters run one after the other (every kind cluster maps the same node ports).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, modelDir, predict, type DevRun, type ModelDir } from "./support/model-dir.js";

const run = promisify(execFile);
const describeKind = describe.runIf(PROVIDER === "kind");

function stageDetail(result: DevRun, stage: string): string {
  const done = result.of("stage.done").find((event) => event.stage === stage);
  expect(done, `${stage} did not finish:\n${result.stdout}\n${result.stderr}`).toBeDefined();
  return String(done?.detail);
}

function finished(result: DevRun) {
  const [event] = result.of("iteration.finished");
  expect(event, result.stdout + result.stderr).toBeDefined();
  return event as unknown as { result: string; image: string; deliveryPath: string; testsPassed: number; testsFailed: number };
}

describeKind("delivery by registry", () => {
  const name = uniqueName("e2e-push").slice(0, 30);
  let model: ModelDir;

  beforeAll(async () => {
    model = await modelDir(name);
    const up = await mlkube(["up", model.dir]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", "--all", model.dir]);
    await model.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("after a full first delivery, an edit of app.py pushes one small layer and the smoke tests pass", async () => {
    // The first rollout must succeed; its smoke tests are not asserted: right after the first
    // rollout on a new cluster they can hit the node port before it forwards (reported).
    const first = await devOnce(model.dir);
    expect(first.of("serving"), first.stdout + first.stderr).toHaveLength(1);
    expect(finished(first)).toMatchObject({ deliveryPath: "registry" });

    await model.edit("app.py", '"Iris model service is running\\n"', '"Iris model service is running (edited)\\n"');
    const second = await devOnce(model.dir);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const detail = stageDetail(second, "deliver");
    // e.g. "1 layer(s) pushed, 9 already there, 0.0 MB moved"
    const match = /(\d+) layer\(s\) pushed, (\d+) already there, ([\d.]+) MB moved/.exec(detail);
    expect(match, detail).not.toBeNull();
    expect(Number(match?.[1])).toBe(1);
    expect(Number(match?.[2])).toBeGreaterThan(1);
    expect(Number(match?.[3])).toBeLessThan(1);

    const { Size } = await docker.getImage(finished(second).image.replace(/^localhost:5001\//, "")).inspect();
    expect(Size).toBeGreaterThan(100_000_000);
    expect(finished(second)).toMatchObject({ result: "success", deliveryPath: "registry", testsPassed: 3, testsFailed: 0 });
  });
});

describeKind("delivery by load (registry: off)", () => {
  const name = uniqueName("e2e-load").slice(0, 30);
  let model: ModelDir;

  beforeAll(async () => {
    // The registry of the other block is gone (down --all): this cluster never has one.
    model = await modelDir(name, "  registry: off\n");
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", "--all", model.dir]);
    await model.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("puts the exact local image ID on the node, and the pod serves /predict on 127.0.0.1", async () => {
    // The rollout must succeed; the smoke tests of a first rollout on a new cluster can hit the
    // node port before it forwards (reported separately), so /predict is checked below instead.
    const result = await devOnce(model.dir);
    expect(result.of("serving"), result.stdout + result.stderr).toHaveLength(1);
    const done = finished(result);
    expect(done).toMatchObject({ deliveryPath: "load" });
    expect(stageDetail(result, "deliver")).toContain("whole image loaded");

    const local = await docker.getImage(done.image).inspect();
    const { stdout } = await run("docker", ["exec", `${name}-control-plane`, "crictl", "inspecti", "-o", "json", done.image]);
    const onNode = JSON.parse(stdout) as { status: { id: string } };
    expect(onNode.status.id).toBe(local.Id);

    expect(await predict(30080)).toEqual({ status: 200, body: { prediction: [0] } });
  });
});
