/**
 * Issue 17.3: the Docker engine or the cluster goes away in the middle of `mlkube dev`. The loop
 * says so within seconds (the cause, not a stack trace), holds the user's changes, and resumes by
 * itself when the engine is back; a deleted cluster is re-created (--yes) and the model deployed
 * and verified on it again.
 *
 * The engine is taken away from mlkube alone: mlkube reaches it through a relay socket
 * (DOCKER_HOST), which the test closes and removes as a stopping dockerd does. The simulated
 * cluster keeps running on the real engine meanwhile, as a kind cluster would not (its node is a
 * container of that engine): what is tested is what mlkube sees and does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRelay } from "../support/docker-relay.js";
import { BASE_IMAGE, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { DevProcess, type DevEvent } from "./support/dev-process.js";
import { modelDir, predict, type ModelDir } from "./support/model-dir.js";
import { waitForFreeNodePorts } from "./support/ports.js";

const run = promisify(execFile);
const describeKind = describe.runIf(PROVIDER === "kind");
/** The monitor looks every 2 s; a few seconds is what the issue asks for. */
const NOTICED_WITHIN_MS = 8_000;

describeKind("the engine and the cluster go away during mlkube dev", () => {
  const name = uniqueName("e2e-outage").slice(0, 30);
  let model: ModelDir;
  let relayDir: string;
  let relay: DockerRelay;
  let dev: DevProcess | undefined;
  const finished = (iteration?: number) => (event: DevEvent) =>
    event.type === "iteration.finished" && (iteration === undefined || event.iteration === iteration);

  beforeAll(async () => {
    await waitForFreeNodePorts(480_000);
    model = await modelDir(name);
    const up = await mlkube(["up", model.dir]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    relayDir = await mkdtemp(join(tmpdir(), "mlkube-relay-"));
    relay = new DockerRelay(join(relayDir, "docker.sock"));
    await relay.start();
  });

  afterAll(async () => {
    await dev?.stop(5_000);
    await relay.start().catch(() => undefined);
    await mlkube(["down", "--yes", "--all", model.dir]);
    await relay.stop();
    await rm(relayDir, { recursive: true, force: true });
    await model.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("deploys and verifies through the relay", async () => {
    dev = new DevProcess(["dev", model.dir, "--json", "--yes", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], {
      DOCKER_HOST: relay.dockerHost,
      MLKUBE_SIM_FAST_BACKOFF: "1",
    });
    const done = await dev.waitFor(finished(1), 300_000, 0, "iteration #1 to finish");
    expect(done.result, JSON.stringify(dev.events.filter((event) => event.type !== "log"))).toBe("success");
  });

  it("a stopped engine is named within seconds, a save is held, and the loop resumes by itself when it returns", async () => {
    const from = dev!.mark();
    const stoppedAt = Date.now();
    await relay.stop();
    const down = await dev!.waitFor((event) => event.type === "health" && event.engine === "down", NOTICED_WITHIN_MS, from, "the engine outage to be reported");
    expect(Date.now() - stoppedAt).toBeLessThan(NOTICED_WITHIN_MS);
    expect(String(down.reason)).toContain(relay.path);

    await model.edit("app.py", '"Iris model service is running\\n"', '"Iris model service is running (after the outage)\\n"');
    const held = await dev!.waitFor(
      (event) => event.type === "hold" && String(event.reason).includes("the Docker engine does not answer"),
      15_000,
      from,
      "the change to be held",
    );
    expect(String(held.reason)).toContain("changes are held");
    await sleep(3_000);
    expect(
      dev!.events.slice(from).some((event) => event.type === "iteration.started"),
      "no iteration may start while the engine is away",
    ).toBe(false);

    await relay.start();
    await dev!.waitFor(
      (event) => event.type === "health" && event.engine === "ok" && event.cluster === "ok",
      NOTICED_WITHIN_MS,
      from,
      "the engine to be seen again",
    );
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 15_000, from, "the held change to run");
    expect(started.trigger).toBe("app.py changed");
    const done = await dev!.waitFor(finished(started.iteration as number), 180_000, from, "the held change's iteration to finish");
    expect(done.result, JSON.stringify(dev!.iteration(started.iteration as number))).toBe("success");
    const output = dev!.lines.slice(0).join("\n") + dev!.stderr;
    expect(output).not.toContain("internal error");
  });

  it("a deleted cluster is noticed, re-created (--yes), and the model deployed and verified on the new one", async () => {
    const from = dev!.mark();
    await run("kind", ["delete", "cluster", "--name", name], { env: process.env });
    const deleted = await dev!.waitFor((event) => event.type === "health" && event.cluster === "deleted", 15_000, from, "the deletion to be noticed");
    expect(String(deleted.reason)).toContain("the cluster was deleted");
    await dev!.waitFor((event) => event.type === "cluster.ready", 240_000, from, "the cluster to be re-created");
    const started = await dev!.waitFor((event) => event.type === "iteration.started", 30_000, from, "an iteration on the new cluster");
    expect(started.stages).toEqual(["build", "deliver", "apply", "rollout", "test"]);
    const done = await dev!.waitFor(finished(started.iteration as number), 300_000, from, "the iteration on the new cluster");
    expect(done.result, JSON.stringify(dev!.iteration(started.iteration as number))).toBe("success");
    expect(await predict()).toEqual({ status: 200, body: { prediction: [0] } });
    expect(dev!.lines.join("\n") + dev!.stderr).not.toContain("internal error");
  });
});
