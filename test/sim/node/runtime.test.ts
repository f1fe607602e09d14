/**
 * The node half of the simulator on the real Docker engine: a kind-style node container with its
 * own engine, image delivery (kind load, registry pulls through hosts.toml), and pods run through
 * the NodeRuntime the control plane uses. Skipped without an engine unless CI=true.
 */
import type Dockerode from "dockerode";
import { execFile } from "node:child_process";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerSpec } from "../contract.js";
import { execIn, hostDocker } from "../docker.js";
import { simDown } from "../down.js";
import { ensureNodeImage, ensureRegistryImage, NODE_IMAGE } from "../images.js";
import { createNode, ensureNetwork } from "../nodes.js";
import type { NodeRecord } from "../state.js";
import { buildFixtureImage, eventually, freePort, postPredict, simAvailable, useTemporarySimHome } from "../testbed.js";
import { nodeEngine } from "./engine.js";
import { loadImage } from "./load-image.js";
import { readAll } from "./logs.js";
import { DockerNodeRuntime } from "./runtime.js";

const run = promisify(execFile);
const available = await simAvailable({ fixture: true });
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const cluster = `simrt-${suffix}`;
const nodeName = `${cluster}-control-plane`;

describe.runIf(available)("a simulated kind node", () => {
  let node: NodeRecord;
  let engine: Dockerode;
  let runtime: DockerNodeRuntime;
  let hostPort: number;
  let fixture: string;
  let podCounter = 0;

  const spec = (overrides: Partial<ContainerSpec>): ContainerSpec => {
    podCounter += 1;
    const podName = `pod-${podCounter}`;
    return {
      id: `uid-${suffix}-${podCounter}/model/0`,
      podNamespace: "default",
      podName,
      podUid: `uid-${suffix}-${podCounter}`,
      containerName: "model",
      image: fixture,
      imagePullPolicy: "IfNotPresent",
      env: [],
      ports: [{ containerPort: 5000, protocol: "TCP" }],
      ...overrides,
    };
  };

  beforeAll(async () => {
    await useTemporarySimHome();
    await ensureNodeImage();
    await ensureRegistryImage();
    await ensureNetwork("kind");
    hostPort = await freePort();
    node = await createNode({
      clusterKey: `kind-${cluster}`,
      container: nodeName,
      role: "control-plane",
      network: "kind",
      labels: { "io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": "control-plane" },
      ports: [{ containerPort: 30080, hostPort, listenAddress: "127.0.0.1", protocol: "TCP" }],
      mounts: [],
    });
    engine = nodeEngine(node.ip);
    runtime = new DockerNodeRuntime({
      node: { name: nodeName, internalIP: node.ip, architecture: "linux/amd64", allocatable: { cpu: "2", memory: "8Gi", pods: "110" } },
      nodeContainer: nodeName,
      host: hostDocker,
      engine,
      pullMode: "containerd-hosts",
    });
    fixture = await buildFixtureImage();
  }, 600_000);

  afterAll(async () => {
    runtime?.close();
    await hostDocker
      .getContainer(`${cluster}-registry`)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    await simDown();
  }, 120_000);

  it("runs a node container laid out as kind's, whose own engine answers", async () => {
    const info = await hostDocker.getContainer(nodeName).inspect();
    expect(info.Config.Hostname).toBe(nodeName);
    expect(info.Config.Labels).toMatchObject({ "io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": "control-plane" });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(["kind"]);
    expect(info.HostConfig.PortBindings).toEqual({ "30080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Config.Image).toBe(NODE_IMAGE);
    expect(node.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(await engine.ping()).toBeTruthy();
    expect((await engine.listImages()).flatMap((image) => image.RepoTags ?? [])).toContain("registry.k8s.io/pause:3.10");
  });

  it("loads an image like kind load docker-image: the node gets the exact image ID, once", async () => {
    const hostId = (await hostDocker.getImage(fixture).inspect()).Id;
    const first = await loadImage(nodeName, fixture);
    expect(first).toEqual({ imageId: hostId, loaded: true });
    expect((await engine.getImage(fixture).inspect()).Id).toBe(hostId);
    expect(await loadImage(nodeName, fixture)).toEqual({ imageId: hostId, loaded: false });
  }, 300_000);

  it("serves POST /predict from a pod through a NodePort on the node's 127.0.0.1 port mapping", async () => {
    const pod = spec({});
    expect(await runtime.pullImage(fixture, "IfNotPresent")).toMatchObject({ ok: true });
    const started = await runtime.startContainer(pod);
    expect(started).toMatchObject({ status: "running" });
    expect(started.ip).toMatch(/^10\.244\.\d+\.\d+$/);
    await eventually(async () => ((await runtime.httpProbe(started.ip as string, 5000, "/", 1000)).ok ? true : undefined), 30_000);

    await runtime.syncNodePorts([{ nodePort: 30080, protocol: "TCP", targets: [{ ip: started.ip as string, port: 5000 }] }]);
    expect(await postPredict(`http://127.0.0.1:${hostPort}/predict`)).toEqual({ status: 200, body: { prediction: [0] } });

    const logs = (await readAll(await runtime.containerLogs(pod.id, { follow: false, timestamps: true }))).toString();
    expect(logs).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z .*Running on/m);
    expect((await readAll(await runtime.containerLogs(pod.id, { follow: false, timestamps: false, tailLines: 1 }))).toString().trim().split("\n")).toHaveLength(
      1,
    );

    // No ready endpoints: the connection is refused (docker-proxy on the host then drops it).
    await runtime.syncNodePorts([{ nodePort: 30080, protocol: "TCP", targets: [] }]);
    await expect(postPredict(`http://127.0.0.1:${hostPort}/predict`)).rejects.toThrow();

    await runtime.stopContainer(pod.id, 5);
    expect(await runtime.inspectContainer(pod.id)).toMatchObject({ status: "exited" });
    await runtime.removeContainer(pod.id);
    expect(await runtime.inspectContainer(pod.id)).toBeUndefined();
  }, 120_000);

  it("runs a command in a running container (exec): stdin to its end, stdout and stderr apart, the exit code", async () => {
    const pod = spec({ command: ["sleep", "600"] });
    expect(await runtime.startContainer(pod)).toMatchObject({ status: "running" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const payload = Buffer.from("x".repeat(200_000));
    const exitCode = await runtime.execInContainer(pod.id, ["sh", "-c", "cat > /tmp/in && wc -c < /tmp/in; echo oops >&2; exit 5"], {
      stdin: Readable.from([payload.subarray(0, 100_000), payload.subarray(100_000)]),
      stdout: (chunk) => out.push(chunk),
      stderr: (chunk) => err.push(chunk),
      signal: new AbortController().signal,
    });
    expect({ exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }).toEqual({
      exitCode: 5,
      stdout: "200000\n",
      stderr: "oops\n",
    });
    // An executable that does not exist fails the exec, as containerd fails it (not an exit code).
    await expect(
      runtime.execInContainer(pod.id, ["no-such-tool"], { stdout: (chunk) => out.push(chunk), signal: new AbortController().signal }),
    ).rejects.toThrow(/^failed to exec in container: failed to start exec "[0-9a-f]+": OCI runtime exec failed: .*executable file not found in \$PATH/);
    await runtime.stopContainer(pod.id, 0);
    await runtime.removeContainer(pod.id);
  }, 60_000);

  it("reports a crashing container's exit code and its last stderr lines", async () => {
    const pod = spec({ command: ["python3", "-c", "import sys; print('model file is corrupt', file=sys.stderr); sys.exit(3)"] });
    await runtime.startContainer(pod);
    const ended = await runtime.waitContainer(pod.id);
    expect(ended).toMatchObject({ status: "exited", exitCode: 3, oomKilled: false });
    expect(ended.message).toContain("model file is corrupt");
    expect(ended.finishedAt).toBeTruthy();
    await runtime.removeContainer(pod.id);
  }, 60_000);

  it("ends a container over its memory limit as OOMKilled", async () => {
    const pod = spec({ command: ["python3", "-c", "blob = bytearray(400 * 1024 * 1024); print(len(blob))"], memoryLimitBytes: 48 * 1024 * 1024 });
    await runtime.startContainer(pod);
    expect(await runtime.waitContainer(pod.id)).toMatchObject({ status: "exited", exitCode: 137, oomKilled: true });
    await runtime.removeContainer(pod.id);
  }, 60_000);

  it("reports a container whose command cannot start as exited with 128", async () => {
    const pod = spec({ command: ["/no/such/binary"] });
    const state = await runtime.startContainer(pod);
    expect(state).toMatchObject({ status: "exited", exitCode: 128 });
    expect(state.message).toMatch(/no such file|not found/i);
    await runtime.removeContainer(pod.id);
  }, 60_000);

  it("pulls through hosts.toml like kind's containerd, and fails as kind does without it", async () => {
    const registry = `${cluster}-registry`;
    const registryPort = await freePort();
    const container = await hostDocker.createContainer({
      name: registry,
      Image: "registry:2",
      HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(registryPort) }] }, NetworkMode: "kind" },
    });
    await container.start();
    const image = `localhost:${registryPort}/sim-tiny:1`;
    await run("sh", [
      "-c",
      `printf 'hello' > /tmp/${suffix}.txt && tar -C /tmp -c ${suffix}.txt | docker import - ${image} >/dev/null && rm /tmp/${suffix}.txt`,
    ]);
    await eventually(async () => ((await fetch(`http://127.0.0.1:${registryPort}/v2/`)).ok ? true : undefined), 15_000);
    await run("docker", ["push", image]);

    expect(await runtime.pullImage(image, "Never")).toMatchObject({ ok: false, reason: "ErrImageNeverPull" });
    const without = await runtime.pullImage(image, "IfNotPresent");
    expect(without).toMatchObject({ ok: false, reason: "ErrImagePull" });
    expect(without.ok ? "" : without.message).toContain(`failed to pull and unpack image "${image}"`);

    // What the kind docs (and mlkube) write into every node.
    const dir = `/etc/containerd/certs.d/localhost:${registryPort}`;
    const toml = `[host."http://${registry}:5000"]\n`;
    expect((await execIn(hostDocker, nodeName, ["sh", "-c", `mkdir -p '${dir}' && printf '%s' '${toml}' > '${dir}/hosts.toml'`])).exitCode).toBe(0);
    const pulled = await runtime.pullImage(image, "IfNotPresent");
    expect(pulled).toMatchObject({ ok: true });
    const tags = (await engine.listImages()).flatMap((entry) => entry.RepoTags ?? []);
    expect(tags).toContain(image);
    expect(tags).not.toContain(`${registry}:5000/sim-tiny:1`);
    expect(await runtime.pullImage(`localhost:${registryPort}/sim-tiny:missing`, "Always")).toMatchObject({ ok: false, reason: "ErrImagePull" });
    await hostDocker
      .getImage(image)
      .remove()
      .catch(() => undefined);
  }, 180_000);
});
