import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { createServer, type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/adapters/docker/client.js";
import { KindProvider } from "../../src/adapters/cluster/kind.js";
import { MinikubeProvider, listMinikubeProfiles } from "../../src/adapters/cluster/minikube.js";
import { DEFAULT_REGISTRY } from "../../src/adapters/cluster/local-registry.js";
import { createdClusters, type CreatedClusters } from "../../src/adapters/cluster/created-clusters.js";
import type { ClusterStep, ReadyCluster } from "../../src/adapters/cluster/provider.js";
import type { DockerConnection } from "../../src/adapters/docker/client.js";
import { recordingExec } from "../support/recording-exec.js";

// These paths never reach the engine; an unreachable socket proves it.
const unusedDocker = connectDocker({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
/** An engine where no registry container exists and nothing publishes ports. */
const noRegistryDocker = {
  client: {
    getContainer: () => ({ inspect: async () => Promise.reject(Object.assign(new Error("no such container"), { statusCode: 404 })) }),
    listContainers: async () => [],
  },
} as unknown as DockerConnection;

/** An engine holding IMAGES by name (only image inspection is used). */
function fakeEngine(images: string[]): DockerConnection & { images: Set<string> } {
  const held = new Set(images);
  const client = {
    getImage: (name: string) => ({
      inspect: async () => (held.has(name) ? { Id: `sha256:${name}` } : Promise.reject(Object.assign(new Error("No such image"), { statusCode: 404 }))),
    }),
  };
  return { client, images: held } as unknown as DockerConnection & { images: Set<string> };
}

/** A cluster that announces no registry. */
const fakeKube = { core: { readNamespacedConfigMap: async () => Promise.reject(Object.assign(new Error("not found"), { code: 404 })) } };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const kindChoice = { kind: "kind" as const, clusterName: "mlkube", context: "kind-mlkube", reason: "test" };
const minikubeChoice = { kind: "minikube" as const, clusterName: "ml", context: "ml", reason: "test" };

let kubeconfigDir: string;
let record: CreatedClusters;
beforeEach(async () => {
  // An empty kubeconfig: nothing here may touch the user's real one.
  kubeconfigDir = await mkdtemp(join(tmpdir(), "mlkube-kubeconfig-"));
  await writeFile(join(kubeconfigDir, "config"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  process.env.KUBECONFIG = join(kubeconfigDir, "config");
  record = createdClusters(join(kubeconfigDir, "created-clusters.json"));
});
afterEach(async () => {
  delete process.env.KUBECONFIG;
  await rm(kubeconfigDir, { recursive: true, force: true });
});

describe("kind invocations", () => {
  const settings = { nodePorts: [30080, 30081], registry: DEFAULT_REGISTRY, registrySetting: "auto" };

  it("creates a missing cluster with a config file mapping NodePorts to 127.0.0.1", async () => {
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "other\n" }]);
    let configText = "";
    const recordConfig: typeof exec = async (file, args, options) => {
      const configIndex = args.indexOf("--config");
      if (configIndex >= 0) configText = await readFile(args[configIndex + 1]!, "utf8");
      return exec(file, args, options);
    };
    // The registry's port and the NodePorts must be free before anything is created; 5001 or
    // 30080 may be busy on this machine, so the test takes free ones.
    const [low, high] = [await freePort(), await freePort()].sort((a, b) => a - b) as [number, number];
    const provider = new KindProvider(
      kindChoice,
      { ...settings, nodePorts: [low, high], registry: { ...DEFAULT_REGISTRY, hostPort: await freePort() } },
      { exec: recordConfig, docker: noRegistryDocker, record },
    );
    const steps: ClusterStep[] = [];
    // After kind creates the cluster, the (empty) kubeconfig lacks its context: a clear error, after the exact calls.
    await expect(provider.ensure((step) => steps.push(step))).rejects.toThrow("The kubeconfig has no context 'kind-mlkube'.");
    expect(calls).toEqual([
      ["kind", "get", "clusters"],
      ["kind", "create", "cluster", "--name", "mlkube", "--config", expect.stringMatching(/cluster\.yaml$/), "--wait", "120s"],
    ]);
    expect(parse(configText)).toEqual({
      kind: "Cluster",
      apiVersion: "kind.x-k8s.io/v1alpha4",
      name: "mlkube",
      nodes: [
        {
          role: "control-plane",
          extraPortMappings: [
            { containerPort: low, hostPort: low, listenAddress: "127.0.0.1", protocol: "TCP" },
            { containerPort: high, hostPort: high, listenAddress: "127.0.0.1", protocol: "TCP" },
          ],
        },
      ],
      containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
    });
    expect(steps.map((step) => `${step.status} ${step.title}`)).toContain("done kind cluster 'mlkube'");
    // Recorded as mlkube's before the steps that can still fail (here: the missing context).
    expect((await record.lookup("kind", "mlkube")).listed).toBe(true);
  });

  it("fails before creating anything when the registry port is taken, naming the holder", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "" }]);
      const provider = new KindProvider(
        kindChoice,
        { ...settings, nodePorts: [await freePort()], registry: { ...DEFAULT_REGISTRY, hostPort: port } },
        { exec, docker: noRegistryDocker, record },
      );
      const failure = provider.ensure(() => undefined);
      await expect(failure).rejects.toThrow(
        `Port 127.0.0.1:${port}, where mlkube runs its local registry (kind-registry), is taken by node (pid ${process.pid}).`,
      );
      await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining("cluster.registry: off") });
      expect(calls).toEqual([["kind", "get", "clusters"]]);
      expect((await record.lookup("kind", "mlkube")).listed).toBe(false);
    } finally {
      holder.close();
    }
  });

  it("fails before creating anything when another kind cluster publishes a NodePort, naming it and the ways out", async () => {
    const other = {
      client: {
        listContainers: async () => [
          {
            Id: "abc",
            Names: ["/ml2-control-plane"],
            Labels: { "io.x-k8s.kind.cluster": "ml2" },
            Ports: [30080, 30081].map((port) => ({ IP: "127.0.0.1", PrivatePort: port, PublicPort: port, Type: "tcp" })),
          },
        ],
      },
    } as unknown as DockerConnection;
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "ml2\n" }]);
    const failure = new KindProvider(kindChoice, { ...settings, registry: undefined }, { exec, docker: other, record }).ensure(() => undefined);
    await expect(failure).rejects.toThrow(
      "kind cluster 'mlkube' cannot be created: it maps its NodePorts to the same ports on 127.0.0.1, and 127.0.0.1:30080, 30081 are held by kind cluster 'ml2' (container ml2-control-plane).",
    );
    await expect(failure).rejects.toMatchObject({
      // The offered range is the first block of two ports from 30100 up that nothing on this machine holds.
      hint: expect.stringMatching(
        /^Share the cluster that holds them \(cluster\.name: ml2 in mlkube\.yaml\), delete it \('kind delete cluster --name ml2', or 'mlkube down' in the model directory that made it\), give this cluster other ports \(cluster\.nodePorts: (3\d{4})-(3\d{4}) in mlkube\.yaml; \1-\2 are free now\), or use a cluster that exists \(cluster\.provider: context\)\.$/,
      ),
    });
    expect(calls).toEqual([["kind", "get", "clusters"]]);
    expect((await record.lookup("kind", "mlkube")).listed).toBe(false);
  });

  it("names the program that listens on a NodePort outside Docker", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const { exec } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "" }]);
      const failure = new KindProvider(kindChoice, { ...settings, nodePorts: [port], registry: undefined }, { exec, docker: noRegistryDocker, record }).ensure(
        () => undefined,
      );
      await expect(failure).rejects.toThrow(`127.0.0.1:${port} is held by node (pid ${process.pid}).`);
      await expect(failure).rejects.toMatchObject({
        hint: expect.stringMatching(
          /^Stop what holds them, give this cluster other ports \(cluster\.nodePorts: 3\d{4}-3\d{4} in mlkube\.yaml; 3\d{4}-3\d{4} are free now\), or use a cluster that exists/,
        ),
      });
    } finally {
      holder.close();
    }
  });

  it("drops the record again when kind create fails and leaves no cluster", async () => {
    const { exec } = recordingExec([
      { argv: ["kind", "get", "clusters"], stdout: "" },
      { argv: ["kind", "create"], exitCode: 1, stdout: "ERROR: failed to create cluster" },
    ]);
    const provider = new KindProvider(
      kindChoice,
      { ...settings, nodePorts: [await freePort()], registry: undefined },
      { exec, docker: noRegistryDocker, record },
    );
    await expect(provider.ensure(() => undefined)).rejects.toThrow("'kind create cluster --name mlkube");
    expect((await record.lookup("kind", "mlkube")).listed).toBe(false);
  });

  it("restores a missing kube context of an existing cluster with kind export kubeconfig", async () => {
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "mlkube\n" }]);
    const provider = new KindProvider(kindChoice, settings, { exec, docker: unusedDocker, record });
    await expect(provider.ensure(() => undefined)).rejects.toThrow(/no context 'kind-mlkube'/);
    expect(calls).toEqual([
      ["kind", "get", "clusters"],
      ["kind", "export", "kubeconfig", "--name", "mlkube"],
    ]);
  });

  it("lists nodes and deletes only an existing cluster", async () => {
    const { exec, calls } = recordingExec([
      { argv: ["kind", "get", "clusters"], stdout: "mlkube\n" },
      { argv: ["kind", "get", "nodes"], stdout: "mlkube-control-plane\n" },
    ]);
    const provider = new KindProvider(kindChoice, { ...settings, registry: undefined }, { exec, docker: unusedDocker, record });
    expect(await provider.nodes()).toEqual(["mlkube-control-plane"]);
    await provider.remove({ registry: false }, () => undefined);
    expect(calls).toEqual([
      ["kind", "get", "nodes", "--name", "mlkube"],
      ["kind", "get", "clusters"],
      ["kind", "delete", "cluster", "--name", "mlkube"],
    ]);
  });

  it("does not call delete for a cluster that does not exist", async () => {
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "" }]);
    const steps: ClusterStep[] = [];
    await new KindProvider(kindChoice, { ...settings, registry: undefined }, { exec, docker: unusedDocker, record }).remove({ registry: false }, (step) =>
      steps.push(step),
    );
    expect(calls).toEqual([["kind", "get", "clusters"]]);
    expect(steps).toEqual([{ title: "kind cluster 'mlkube'", status: "skipped", detail: "does not exist" }]);
  });

  it("plans without running anything", async () => {
    const { exec, calls } = recordingExec();
    const plan = await new KindProvider(kindChoice, settings, { exec, docker: unusedDocker, record }).plan();
    expect(calls).toEqual([]);
    expect(plan.steps[0]).toBe("kind create cluster --name mlkube --config <the configuration above>");
    expect(plan.registry).toEqual({ container: "kind-registry", listen: "127.0.0.1:5001", image: "registry:2" });
  });
});

describe("minikube invocations", () => {
  const settings = { registrySetting: "auto", platform: "linux" as const, isWsl: false };
  const profiles = JSON.stringify({
    invalid: [],
    valid: [{ Name: "ml", Status: "Running", Config: { Driver: "docker", KubernetesConfig: { ContainerRuntime: "docker" } } }],
  });

  it("starts a missing profile with the docker driver and runtime", async () => {
    const { exec, spawn, calls } = recordingExec([{ argv: ["minikube", "profile", "list", "-o", "json"], exitCode: 85, stdout: "no profiles" }]);
    const provider = new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker, record });
    await expect(provider.ensure(() => undefined)).rejects.toThrow(/no context 'ml'/);
    expect(calls).toEqual([
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "start", "-p", "ml", "--driver=docker", "--container-runtime=docker"],
    ]);
    expect((await record.lookup("minikube", "ml")).listed).toBe(true);
  });

  it("loads a base image only the host's engine has into minikube's engine, once", async () => {
    const minikubeEngine = fakeEngine(["already/there:1"]);
    const { exec, spawn, calls } = recordingExec([
      { argv: ["minikube", "profile", "list"], stdout: profiles },
      { argv: ["minikube", "docker-env"], stdout: 'DOCKER_HOST="tcp://192.168.49.2:2376"\n' },
    ]);
    const loadingExec: typeof exec = async (file, args, options) => {
      if (args[0] === "image" && args[1] === "load") minikubeEngine.images.add(args[2]!);
      return exec(file, args, options);
    };
    const provider = new MinikubeProvider(minikubeChoice, settings, {
      exec: loadingExec,
      spawn,
      docker: fakeEngine(["host/base:1", "already/there:1"]),
      record,
    });
    // Builds go to minikube's engine (docker-env): only then does the hook exist.
    const ready = await (provider as unknown as { ready(kube: unknown, runtime: string): Promise<ReadyCluster> }).ready(fakeKube, "docker");
    expect(ready.delivery.path).toBe("in-cluster-engine");
    expect(ready.provideBaseImages).toBeTypeOf("function");
    // What the hook does, against a stand-in for the node's engine (docker-env names an unreachable IP here).
    const progress: string[] = [];
    const done = await (provider as unknown as { provideBaseImages(engine: unknown, images: string[], options: unknown): Promise<string[]> }).provideBaseImages(
      minikubeEngine,
      ["host/base:1", "already/there:1", "nowhere/image:1"],
      { progress: (line: string) => progress.push(line) },
    );
    expect(done).toEqual(["loaded the base image host/base:1 into minikube's engine (it was only in this machine's engine)"]);
    expect(progress).toEqual([
      "minikube's engine lacks the base image host/base:1, which this machine's engine has: loading it there once ('minikube image load host/base:1 -p ml')",
    ]);
    expect(calls.filter((argv) => argv[1] === "image")).toEqual([["minikube", "image", "load", "host/base:1", "-p", "ml"]]);
  });

  describe("off Linux, the endpoint is the 'minikube service --url' line of the model's port", () => {
    // minikube prints one URL per Service port, in spec.ports order.
    const tunnelUrls = "http://127.0.0.1:51001\nhttp://127.0.0.1:51002\n";
    const withService = (ports: { name: string; port: number; nodePort?: number }[]) => ({
      core: { ...fakeKube.core, readNamespacedService: async () => ({ spec: { ports } }) },
    });
    const readyOffLinux = async (kube: unknown) => {
      const recorded = recordingExec([
        { argv: ["minikube", "docker-env"], stdout: 'DOCKER_HOST="tcp://127.0.0.1:50123"\n' },
        { argv: ["minikube", "service"], stdout: tunnelUrls },
      ]);
      const provider = new MinikubeProvider(
        minikubeChoice,
        { ...settings, platform: "darwin" },
        { exec: recorded.exec, spawn: recorded.spawn, docker: unusedDocker, record },
      );
      return {
        ready: await (provider as unknown as { ready(kube: unknown, runtime: string): Promise<ReadyCluster> }).ready(kube, "docker"),
        calls: recorded.calls,
      };
    };

    it("takes the URL at the index of the port whose nodePort is the model's, not the first", async () => {
      const { ready, calls } = await readyOffLinux(
        withService([
          { name: "metrics", port: 9090, nodePort: 31990 },
          { name: "http", port: 8080, nodePort: 30080 },
        ]),
      );
      const endpoint = await ready.endpoint({ namespace: "ml", name: "iris", nodePort: 30080 });
      expect(endpoint).toMatchObject({ url: "http://127.0.0.1:51002", via: "tunnel" });
      expect(calls.at(-1)).toEqual(["minikube", "service", "iris", "--url", "-n", "ml", "-p", "ml"]);
    });

    it.each<[string, string, Record<string, unknown>]>([
      ["an engine on Linux", "node-ip", { OperatingSystem: "Debian GNU/Linux 12 (bookworm)", SecurityOptions: ["name=seccomp,profile=default"] }],
      ["Docker Desktop for Linux", "tunnel", { OperatingSystem: "Docker Desktop", SecurityOptions: ["name=seccomp,profile=builtin"] }],
      [
        "rootless Docker",
        "tunnel",
        { OperatingSystem: "Ubuntu 24.04 LTS", SecurityOptions: ["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"] },
      ],
    ])("on Linux with %s: %s", async (_name, via, info) => {
      const recorded = recordingExec([
        { argv: ["minikube", "docker-env"], stdout: 'DOCKER_HOST="tcp://127.0.0.1:50123"\n' },
        { argv: ["minikube", "ip"], stdout: "192.168.49.2\n" },
        { argv: ["minikube", "service"], stdout: tunnelUrls },
      ]);
      const docker = { ...unusedDocker, client: { info: async () => info } } as unknown as DockerConnection;
      const provider = new MinikubeProvider(
        minikubeChoice,
        { ...settings, platform: "linux", isWsl: false },
        { exec: recorded.exec, spawn: recorded.spawn, docker, record },
      );
      const ready = await (provider as unknown as { ready(kube: unknown, runtime: string): Promise<ReadyCluster> }).ready(
        withService([{ name: "http", port: 8080, nodePort: 30080 }]),
        "docker",
      );
      const endpoint = await ready.endpoint({ namespace: "ml", name: "iris", nodePort: 30080 });
      if (via === "tunnel") {
        expect(endpoint).toMatchObject({ url: "http://127.0.0.1:51001", via: "tunnel" });
        // The user is told why the URL is not the node's, and that it lasts only while mlkube runs.
        expect(endpoint.reason).toBe(
          `a 'minikube service iris --url' tunnel, open while mlkube runs: the node IP is out of reach (${info.OperatingSystem === "Docker Desktop" ? "Docker Desktop runs the engine in a VM" : "rootless Docker keeps the node in its own network namespace"})`,
        );
      } else {
        expect(endpoint.url).toBe("http://192.168.49.2:30080");
        expect(endpoint.reason).toBeUndefined();
        expect(recorded.calls.some((argv) => argv[1] === "service")).toBe(false);
      }
    });

    it("says which ports the Service has when none is the model's nodePort, and starts no tunnel", async () => {
      const { ready, calls } = await readyOffLinux(
        withService([
          { name: "metrics", port: 9090, nodePort: 31990 },
          { name: "http", port: 8080 },
        ]),
      );
      await expect(ready.endpoint({ namespace: "ml", name: "iris", nodePort: 30080 })).rejects.toThrow(
        "Service ml/iris has no port with nodePort 30080 (its ports: metrics (nodePort 31990), http), so mlkube cannot tell which of the URLs 'minikube service --url' prints is the model's.",
      );
      expect(calls.some((argv) => argv[1] === "service")).toBe(false);
    });
  });

  it("reads profiles, and treats minikube's non-zero exit for none as none", async () => {
    expect(await listMinikubeProfiles(recordingExec([{ argv: ["minikube", "profile", "list"], stdout: profiles }]).exec)).toEqual([
      { name: "ml", status: "Running", driver: "docker", runtime: "docker" },
    ]);
    expect(await listMinikubeProfiles(recordingExec([{ argv: ["minikube", "profile", "list"], exitCode: 85 }]).exec)).toEqual([]);
  });

  it("parses docker-env for an in-process client without touching process.env", async () => {
    const before = process.env.DOCKER_HOST;
    const { exec, spawn, calls } = recordingExec([
      {
        argv: ["minikube", "docker-env"],
        stdout: 'DOCKER_TLS_VERIFY="1"\nDOCKER_HOST="tcp://192.168.49.2:2376"\nDOCKER_CERT_PATH="/home/me/.minikube/certs"\nMINIKUBE_ACTIVE_DOCKERD="ml"\n',
      },
    ]);
    const env = await new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker, record }).dockerEnv();
    expect(calls).toEqual([["minikube", "docker-env", "-p", "ml", "--shell", "none"]]);
    expect(env).toEqual({
      DOCKER_TLS_VERIFY: "1",
      DOCKER_HOST: "tcp://192.168.49.2:2376",
      DOCKER_CERT_PATH: "/home/me/.minikube/certs",
      MINIKUBE_ACTIVE_DOCKERD: "ml",
    });
    expect(process.env.DOCKER_HOST).toBe(before);
  });

  it("reports status with the node IP and deletes with -p", async () => {
    const { exec, spawn, calls } = recordingExec([
      { argv: ["minikube", "profile", "list"], stdout: profiles },
      { argv: ["minikube", "ip"], stdout: "192.168.49.2\n" },
    ]);
    const provider = new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker, record });
    expect(await provider.status()).toMatchObject({ exists: true, running: true, nodes: ["ml (192.168.49.2)"] });
    // Behind Docker Desktop the node IP is named with why it is out of reach, so no URL is made of it.
    const desktop = { ...unusedDocker, client: { info: async () => ({ OperatingSystem: "Docker Desktop" }) } } as unknown as DockerConnection;
    const { exec: desktopExec } = recordingExec([
      { argv: ["minikube", "profile", "list"], stdout: profiles },
      { argv: ["minikube", "ip"], stdout: "192.168.49.2\n" },
    ]);
    expect(
      (
        await new MinikubeProvider(
          minikubeChoice,
          { ...settings, platform: "linux", isWsl: false },
          { exec: desktopExec, spawn, docker: desktop, record },
        ).status()
      ).nodes,
    ).toEqual(["ml (192.168.49.2, out of this machine's reach: Docker Desktop runs the engine in a VM)"]);
    await provider.remove({ registry: false }, () => undefined);
    expect(calls).toEqual([
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "ip", "-p", "ml"],
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "delete", "-p", "ml"],
    ]);
  });
});
