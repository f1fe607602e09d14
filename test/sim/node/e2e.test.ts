/**
 * Both halves of the simulator together, driven the way mlkube drives a kind cluster: the `kind`
 * stand-in creates the cluster from a config with a 127.0.0.1 port mapping, `kind load docker-image`
 * delivers the fixture, the real @kubernetes/client-node applies a Deployment and a NodePort
 * Service, and a real POST /predict reaches the pod through the node's port mapping.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { AppsV1Api, CoreV1Api, Exec, KubeConfig, type V1Deployment, type V1Pod, type V1Status } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { simDown } from "../down.js";
import { ensureNodeImage } from "../images.js";
import { SIM_DIR } from "../state.js";
import { buildFixtureImage, eventually, freePort, portIsFree, postPredict, runTool, simAvailable, useTemporarySimHome } from "../testbed.js";

const available = (await simAvailable({ fixture: true })) && existsSync(join(SIM_DIR, "apiserver/index.ts"));
const cluster = `sime2e-${Date.now().toString(36)}`;

describe.runIf(available)("a model served end to end on a simulated kind cluster", () => {
  let env: NodeJS.ProcessEnv;
  let kubeconfig: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let hostPort: number;
  let fixture: string;
  const kind = (...args: string[]) => runTool("kind", args, env);

  const deployment = (name: string, command?: string[], memory?: string): V1Deployment => ({
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "model",
              image: fixture,
              imagePullPolicy: "IfNotPresent",
              ports: [{ containerPort: 5000 }],
              command,
              resources: memory ? { limits: { memory } } : undefined,
              readinessProbe: { httpGet: { path: "/", port: 5000 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  });

  const firstPod = async (app: string): Promise<V1Pod | undefined> =>
    (await core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` })).items[0];

  beforeAll(async () => {
    const home = await useTemporarySimHome();
    env = { MLKUBE_SIM_HOME: home, KUBECONFIG: join(home, "kubeconfig"), MINIKUBE_HOME: join(home, "minikube"), MLKUBE_SIM_FAST_BACKOFF: "1" };
    await ensureNodeImage();
    fixture = await buildFixtureImage();
    // 127.0.0.1:30080 as in mlkube's docs, unless something on this machine holds it.
    hostPort = (await portIsFree(30080)) ? 30080 : await freePort();
    const config = join(home, "kind.yaml");
    await writeFile(
      config,
      [
        "kind: Cluster",
        "apiVersion: kind.x-k8s.io/v1alpha4",
        "nodes:",
        "- role: control-plane",
        "  extraPortMappings:",
        "  - containerPort: 30080",
        `    hostPort: ${hostPort}`,
        '    listenAddress: "127.0.0.1"',
        "",
      ].join("\n"),
    );
    const created = await kind("create", "cluster", "--name", cluster, "--config", config);
    expect(created.code, created.stderr).toBe(0);
    const loaded = await kind("load", "docker-image", fixture, "--name", cluster);
    expect(loaded.code, loaded.stderr).toBe(0);

    kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(env.KUBECONFIG as string);
    expect(kubeconfig.getCurrentContext()).toBe(`kind-${cluster}`);
    apps = kubeconfig.makeApiClient(AppsV1Api);
    core = kubeconfig.makeApiClient(CoreV1Api);
  }, 900_000);

  afterAll(async () => {
    if (env) await kind("delete", "cluster", "--name", cluster);
    await simDown();
  }, 120_000);

  it("answers POST /predict through the NodePort Service on 127.0.0.1", async () => {
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("iris") });
    await core.createNamespacedService({
      namespace: "default",
      body: { metadata: { name: "iris" }, spec: { type: "NodePort", selector: { app: "iris" }, ports: [{ port: 80, targetPort: 5000, nodePort: 30080 }] } },
    });
    await eventually(
      async () => {
        const status = (await apps.readNamespacedDeployment({ name: "iris", namespace: "default" })).status;
        return (status?.readyReplicas ?? 0) >= 1 ? true : undefined;
      },
      120_000,
      500,
    );
    const answer = await eventually(
      async () => {
        const response = await postPredict(`http://127.0.0.1:${hostPort}/predict`);
        return response.status === 200 ? response : undefined;
      },
      30_000,
      500,
    );
    expect(answer.body).toEqual({ prediction: [0] });
    const pod = await firstPod("iris");
    expect(pod?.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(pod?.spec?.nodeName).toBe(`${cluster}-control-plane`);
  }, 180_000);

  it("runs a command in the model's pod through pods/exec: a tar stream extracted there, its sha256sum back", async () => {
    const pod = await firstPod("iris");
    const file = "weights = [0.1, 0.2]\n";
    const archive = await tarOf("model.py", file);
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    let status: V1Status | undefined;
    const ws = (await new Exec(kubeconfig).exec(
      "default",
      pod?.metadata?.name ?? "",
      "model",
      ["sh", "-c", "mkdir -p /tmp/app && tar -xf - -C /tmp/app && sha256sum /tmp/app/model.py"],
      stdout,
      null,
      Readable.from([archive]),
      false,
      (s) => (status = s),
    )) as WebSocket;
    await new Promise<void>((resolve) => ws.on("close", () => resolve()));
    expect(ws.protocol).toBe("v5.channel.k8s.io");
    expect(status).toEqual({ metadata: {}, status: "Success" });
    expect(out).toBe(`${createHash("sha256").update(file).digest("hex")}  /tmp/app/model.py\n`);
  }, 60_000);

  it("shows a crashing container's exit code in CrashLoopBackOff", async () => {
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("crash", ["python3", "-c", "import sys; sys.exit(3)"]) });
    const status = await eventually(
      async () => {
        const container = (await firstPod("crash"))?.status?.containerStatuses?.[0];
        return container?.state?.waiting?.reason === "CrashLoopBackOff" ? container : undefined;
      },
      120_000,
      500,
    );
    expect(status.lastState?.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
  }, 180_000);

  it("shows OOMKilled for a container over its memory limit", async () => {
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("oom", ["python3", "-c", "blob = bytearray(400 * 1024 * 1024)"], "48Mi") });
    const terminated = await eventually(
      async () => {
        const container = (await firstPod("oom"))?.status?.containerStatuses?.[0];
        const ended = container?.lastState?.terminated ?? container?.state?.terminated;
        return ended ? ended : undefined;
      },
      120_000,
      500,
    );
    expect(terminated).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
  }, 180_000);
});

/** A tar archive of one file, made by the real tar. */
async function tarOf(name: string, content: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "mlkube-e2e-tar-"));
  try {
    await writeFile(join(dir, name), content);
    return await new Promise<Buffer>((resolve, reject) =>
      execFile("tar", ["-cf", "-", "-C", dir, name], { encoding: "buffer" }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
