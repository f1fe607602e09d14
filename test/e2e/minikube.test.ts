import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerDesktopRelay } from "../support/docker-desktop-relay.js";
import { BASE_IMAGE, copyFixture } from "../support/engine.js";
import { eventually } from "../support/eventually.js";
import { predictAt } from "../support/http.js";
import { forwardsPort, isRunning, listening, processesWith } from "../support/processes.js";
import { E2E_CLUSTER, mlkube } from "./support/cluster.js";
import { DevProcess, type DevEvent } from "./support/dev-process.js";

/** A kubeconfig of the user's own, whose current context (my-laptop) is not the cluster's. */
async function writeUserKubeconfig(path: string): Promise<void> {
  await writeFile(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: my-laptop, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: my-laptop, user: {token: x}}]",
      "contexts: [{name: my-laptop, context: {cluster: my-laptop, user: my-laptop}}]",
      "current-context: my-laptop",
      "",
    ].join("\n"),
  );
}

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
    await writeUserKubeconfig(env.KUBECONFIG!);
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
    const events = dev.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
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

/**
 * The Service with two ports: `minikube service --url` prints one tunnel URL per port, in this
 * order, and only the model's reaches it (nothing listens on 9100). The metrics port comes first,
 * so both the tunnel URL and the port the pods are tested on must be picked by the model's NodePort.
 */
const TWO_PORT_MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: iris-sklearn
spec:
  replicas: 1
  selector:
    matchLabels: { app.kubernetes.io/name: iris-sklearn }
  template:
    metadata:
      labels: { app.kubernetes.io/name: iris-sklearn }
    spec:
      containers:
        - name: iris-sklearn
          image: registry.example.com/ml/iris-sklearn:1.4.2
          ports: [{ containerPort: 5000 }]
          readinessProbe: { httpGet: { path: /, port: 5000 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata:
  name: iris-sklearn
spec:
  type: NodePort
  selector: { app.kubernetes.io/name: iris-sklearn }
  ports:
    - { name: metrics, port: 9100, targetPort: 9100, nodePort: 30091 }
    - { name: http, port: 80, targetPort: 5000 }
`;

/**
 * Issue 13: minikube's node IP is out of reach where the engine runs in a VM (Docker Desktop, here
 * the real engine behind a relay that says so). minikube itself then tunnels (`minikube service
 * --url`, an ssh child, alive until SIGINT), and so must mlkube: the model's URL is the tunnel's,
 * mlkube says why, and nothing of the tunnel outlives mlkube.
 */
describe.runIf(E2E_CLUSTER === "sim" || E2E_CLUSTER === "minikube")("minikube behind Docker Desktop: the model through minikube's tunnel", () => {
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let relay: DockerDesktopRelay;
  let env: NodeJS.ProcessEnv;
  const profile = `mlkube-e2e-mkt-${process.pid}`;
  /** `minikube service iris-sklearn --url ... -p PROFILE` (the simulator's runs under node). */
  const tunnelCommands = () => processesWith((args) => args.includes("service") && args.includes("--url") && args.includes(profile));
  /** No `minikube service`, no forward of the tunnel's port, and the port closed. */
  const expectNothingLeft = async (port: number) => {
    await eventually(async () => expect([...(await tunnelCommands()), ...(await processesWith(forwardsPort(port)))]).toEqual([]), 5_000, 200);
    expect(await listening(port)).toBe(false);
  };
  const endpointOf = (events: readonly DevEvent[]) => events.find((event) => event.type === "endpoint") as { url: string; reason?: string } | undefined;

  beforeAll(async () => {
    fixture = await copyFixture();
    await writeFile(join(fixture.dir, "k8s.yaml"), TWO_PORT_MANIFESTS);
    const config = join(fixture.dir, "mlkube.yaml");
    await writeFile(
      config,
      `${(await readFile(config, "utf8")).replace(/^name: iris-sklearn$/m, "name: iris-sklearn\nmanifests: [k8s.yaml]")}\ncluster:\n  provider: minikube\n  name: ${profile}\n`,
    );
    relay = new DockerDesktopRelay(join(fixture.dir, "..", "docker.sock"));
    await relay.start();
    env = { KUBECONFIG: join(fixture.dir, "..", "kubeconfig"), DOCKER_HOST: relay.dockerHost };
    await writeUserKubeconfig(env.KUBECONFIG!);
  });
  afterAll(async () => {
    // A failed test may have left a tunnel of this profile, or its ssh child (whose key is the
    // profile's): end them, and only them.
    const ssh = (args: string[]) => args.some((arg) => arg.startsWith("-L")) && args.some((arg) => arg.includes(`/machines/${profile}/`));
    const leftovers = [...(await tunnelCommands()), ...(await processesWith(ssh))];
    for (const leftover of leftovers) process.kill(leftover.pid, "SIGKILL");
    await mlkube(["down", "--yes", fixture.dir], { env });
    await relay?.stop();
    await fixture.cleanup();
  });

  it("dev --once: the endpoint is the tunnel to the model's port (one of two), the smoke tests pass there, mlkube says why, and the tunnel ends with mlkube", async () => {
    const dev = await mlkube(["dev", fixture.dir, "--once", "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], { env });
    const events = dev.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as DevEvent);
    expect(
      events.find((event) => event.type === "iteration.finished"),
      dev.stdout.slice(-2000) + dev.stderr,
    ).toMatchObject({ result: "success", deliveryPath: "in-cluster-engine" });
    expect(dev.code).toBe(0);
    // mlkube asked the engine (through the relay), not the platform alone.
    expect(relay.infoRequests).toBeGreaterThan(0);
    const endpoint = endpointOf(events);
    expect(endpoint?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoint?.reason).toContain("Docker Desktop runs the engine in a VM");
    // Every smoke test also passed through that URL, not only through the pod.
    const tests = events.find((event) => event.type === "tests.result") as { tests: { answeredBy?: string[] }[] } | undefined;
    expect(tests?.tests.every((test) => test.answeredBy?.includes("url"))).toBe(true);
    await expectNothingLeft(Number(new URL(endpoint!.url).port));
    // Afterwards `mlkube status` offers no URL made of the node IP either, and says why.
    const status = await mlkube(["status", fixture.dir], { env });
    expect(status.stdout).toContain("out of this machine's reach: Docker Desktop runs the engine in a VM");
    expect(status.stdout).not.toMatch(/http:\/\/192\.168\./);
  });

  it("dev: the prediction answers at the tunnel while mlkube runs; after SIGINT neither minikube nor its forward is left", async () => {
    const dev = new DevProcess(["dev", fixture.dir, "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`], env);
    try {
      await dev.waitFor((event) => event.type === "iteration.finished", 240_000, 0, "the first iteration");
      const url = endpointOf(dev.events)!.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await predictAt(url, [6.7, 3.0, 5.2, 2.3])).body).toEqual({ prediction: [2] });
      const port = Number(new URL(url).port);
      const running = [...(await tunnelCommands()), ...(await processesWith(forwardsPort(port)))];
      expect(running.length, "minikube service and its forward child").toBe(2);
      dev.child.kill("SIGINT");
      // 130: ended by SIGINT, as a shell reports it (README).
      expect((await dev.exited).code).toBe(130);
      for (const each of running) expect(await isRunning(each.pid), each.args.join(" ")).toBe(false);
      await expectNothingLeft(port);
    } finally {
      await dev.stop();
    }
  });
});
