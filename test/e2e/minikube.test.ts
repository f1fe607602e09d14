import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, copyFixture } from "../support/engine.js";
import { predictAt } from "../support/http.js";
import { E2E_CLUSTER, mlkube } from "./support/cluster.js";

/**
 * minikube with the docker runtime: mlkube builds straight into the node's own engine (the
 * variables of `minikube docker-env`, applied to one client inside mlkube), so nothing is pushed
 * or loaded, and the model is reached at `minikube ip` plus the NodePort.
 *
 * Issue 17.7: the user already works in another context (here `my-laptop`, standing for a kind
 * cluster or anything else). `minikube start` and `minikube delete` move the current context;
 * mlkube must leave the user's where it was, and say so.
 */
describe.runIf(E2E_CLUSTER === "sim" || E2E_CLUSTER === "minikube")("minikube: building into the node's engine", () => {
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let kubeconfigDir: string;
  let env: NodeJS.ProcessEnv;
  const profile = `mlkube-e2e-mk-${process.pid}`;
  const currentContext = async () => (parse(await readFile(env.KUBECONFIG!, "utf8")) as { "current-context"?: string })["current-context"];

  beforeAll(async () => {
    fixture = await copyFixture();
    const config = join(fixture.dir, "mlkube.yaml");
    await writeFile(config, `${await readFile(config, "utf8")}\ncluster:\n  provider: minikube\n  name: ${profile}\n`);
    // The user's own kubeconfig, whose current context is theirs.
    kubeconfigDir = await mkdtemp(join(tmpdir(), "mlkube-e2e-kubeconfig-"));
    env = { KUBECONFIG: join(kubeconfigDir, "config"), DOCKER_HOST: process.env.DOCKER_HOST };
    await writeFile(env.KUBECONFIG!, [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: my-laptop, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: my-laptop, user: {token: x}}]",
      "contexts: [{name: my-laptop, context: {cluster: my-laptop, user: my-laptop}}]",
      "current-context: my-laptop",
      "",
    ].join("\n"));
  });
  afterAll(async () => {
    await mlkube(["down", "--yes", fixture.dir], { env });
    await fixture.cleanup();
    await rm(kubeconfigDir, { recursive: true, force: true });
  });

  it("creates the profile and keeps the user's current context, saying so", async () => {
    const up = await mlkube(["up", fixture.dir], { env });
    expect(up.stderr + up.stdout).toContain(`minikube profile '${profile}'`);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("image delivery: in-cluster-engine (minikube runs the docker runtime");
    expect(up.stderr).toContain(`kept your current context 'my-laptop' (mlkube uses '${profile}' by name)`);
    expect(await currentContext()).toBe("my-laptop");
  });

  it("loads a base image only this machine's engine has into minikube's, builds inside it, rolls out and passes the smoke tests", async () => {
    // The node's engine has no base image and (here) cannot pull one: mlkube loads it from the host's engine.
    const dev = await mlkube(["dev", fixture.dir, "--once", "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { env });
    const events = dev.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
    const finished = events.find((event) => event.type === "iteration.finished");
    expect(finished, dev.stdout.slice(-2000) + dev.stderr).toMatchObject({ result: "success", deliveryPath: "in-cluster-engine" });
    expect(dev.code).toBe(0);
    const build = events.find((event) => event.type === "stage.done" && event.stage === "build") as { detail?: string } | undefined;
    expect(build?.detail).toContain(`loaded the base image ${BASE_IMAGE} into minikube's engine (it was only in this machine's engine)`);
    const endpoint = events.find((event) => event.type === "endpoint") as { url?: string } | undefined;
    expect(endpoint?.url).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:30080$/);
    expect((await predictAt(endpoint!.url!, [6.7, 3.0, 5.2, 2.3])).body).toEqual({ prediction: [2] });
    expect(await currentContext()).toBe("my-laptop");
  });

  it("down removes the profile and leaves the user's current context in place", async () => {
    const down = await mlkube(["down", "--yes", fixture.dir], { env });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.stderr).toContain(`minikube profile '${profile}': deleted`);
    expect(await currentContext()).toBe("my-laptop");
  });
});
