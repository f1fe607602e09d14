import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, copyFixture } from "../support/engine.js";
import { predictAt } from "../support/http.js";
import { E2E_CLUSTER, mlkube } from "./support/cluster.js";

/**
 * minikube with the docker runtime: mlkube builds straight into the node's own engine (the
 * variables of `minikube docker-env`, applied to one client inside mlkube), so nothing is pushed
 * or loaded, and the model is reached at `minikube ip` plus the NodePort.
 */
describe.runIf(E2E_CLUSTER === "sim" || E2E_CLUSTER === "minikube")("minikube: building into the node's engine", () => {
  let fixture: { dir: string; cleanup: () => Promise<void> };
  const profile = `mlkube-e2e-mk-${process.pid}`;

  beforeAll(async () => {
    fixture = await copyFixture();
    const config = join(fixture.dir, "mlkube.yaml");
    await writeFile(config, `${await readFile(config, "utf8")}\ncluster:\n  provider: minikube\n  name: ${profile}\n`);
  });
  afterAll(async () => {
    await mlkube(["down", "--yes", fixture.dir]);
    await fixture.cleanup();
  });

  it("creates the profile, builds inside it, rolls out and passes the smoke tests", async () => {
    const up = await mlkube(["up", fixture.dir]);
    expect(up.stderr + up.stdout).toContain(`minikube profile '${profile}'`);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("image delivery: in-cluster-engine (minikube runs the docker runtime");

    // The build runs inside the node's engine, which has no base image and (here) cannot pull one:
    // load it once, as a user without network access would.
    await promisify(execFile)("minikube", ["image", "load", BASE_IMAGE, "-p", profile], { env: process.env });

    const dev = await mlkube(["dev", fixture.dir, "--once", "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { env: { DOCKER_HOST: process.env.DOCKER_HOST } });
    const events = dev.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
    const finished = events.find((event) => event.type === "iteration.finished");
    expect(finished, dev.stdout.slice(-2000) + dev.stderr).toMatchObject({ result: "success", deliveryPath: "in-cluster-engine" });
    expect(dev.code).toBe(0);
    const endpoint = events.find((event) => event.type === "endpoint") as { url?: string } | undefined;
    expect(endpoint?.url).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:30080$/);
    expect((await predictAt(endpoint!.url!, [6.7, 3.0, 5.2, 2.3])).body).toEqual({ prediction: [2] });
  });
});
