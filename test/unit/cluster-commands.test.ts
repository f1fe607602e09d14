import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/adapters/docker/client.js";
import { KindProvider } from "../../src/adapters/cluster/kind.js";
import { MinikubeProvider, listMinikubeProfiles } from "../../src/adapters/cluster/minikube.js";
import { DEFAULT_REGISTRY } from "../../src/adapters/cluster/local-registry.js";
import type { ClusterStep } from "../../src/adapters/cluster/provider.js";
import { recordingExec } from "../support/recording-exec.js";

// These paths never reach the engine; an unreachable socket proves it.
const unusedDocker = connectDocker({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
const kindChoice = { kind: "kind" as const, clusterName: "mlkube", context: "kind-mlkube", reason: "test" };
const minikubeChoice = { kind: "minikube" as const, clusterName: "ml", context: "ml", reason: "test" };

let kubeconfigDir: string;
beforeEach(async () => {
  // An empty kubeconfig: nothing here may touch the user's real one.
  kubeconfigDir = await mkdtemp(join(tmpdir(), "mlkube-kubeconfig-"));
  await writeFile(join(kubeconfigDir, "config"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  process.env.KUBECONFIG = join(kubeconfigDir, "config");
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
    const provider = new KindProvider(kindChoice, settings, { exec: recordConfig, docker: unusedDocker });
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
      nodes: [{ role: "control-plane", extraPortMappings: [
        { containerPort: 30080, hostPort: 30080, listenAddress: "127.0.0.1", protocol: "TCP" },
        { containerPort: 30081, hostPort: 30081, listenAddress: "127.0.0.1", protocol: "TCP" },
      ] }],
      containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
    });
    expect(steps.map((step) => `${step.status} ${step.title}`)).toContain("done kind cluster 'mlkube'");
  });

  it("restores a missing kube context of an existing cluster with kind export kubeconfig", async () => {
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "clusters"], stdout: "mlkube\n" }]);
    const provider = new KindProvider(kindChoice, settings, { exec, docker: unusedDocker });
    await expect(provider.ensure(() => undefined)).rejects.toThrow(/no context 'kind-mlkube'/);
    expect(calls).toEqual([["kind", "get", "clusters"], ["kind", "export", "kubeconfig", "--name", "mlkube"]]);
  });

  it("lists nodes and deletes only an existing cluster", async () => {
    const { exec, calls } = recordingExec([
      { argv: ["kind", "get", "clusters"], stdout: "mlkube\n" },
      { argv: ["kind", "get", "nodes"], stdout: "mlkube-control-plane\n" },
    ]);
    const provider = new KindProvider(kindChoice, { ...settings, registry: undefined }, { exec, docker: unusedDocker });
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
    await new KindProvider(kindChoice, { ...settings, registry: undefined }, { exec, docker: unusedDocker }).remove({ registry: false }, (step) => steps.push(step));
    expect(calls).toEqual([["kind", "get", "clusters"]]);
    expect(steps).toEqual([{ title: "kind cluster 'mlkube'", status: "skipped", detail: "does not exist" }]);
  });

  it("plans without running anything", async () => {
    const { exec, calls } = recordingExec();
    const plan = await new KindProvider(kindChoice, settings, { exec, docker: unusedDocker }).plan();
    expect(calls).toEqual([]);
    expect(plan.steps[0]).toBe("kind create cluster --name mlkube --config <the configuration above>");
    expect(plan.registry).toEqual({ container: "kind-registry", listen: "127.0.0.1:5001", image: "registry:2" });
  });
});

describe("minikube invocations", () => {
  const settings = { registrySetting: "auto", platform: "linux" as const, isWsl: false };
  const profiles = JSON.stringify({ invalid: [], valid: [{ Name: "ml", Status: "Running", Config: { Driver: "docker", KubernetesConfig: { ContainerRuntime: "docker" } } }] });

  it("starts a missing profile with the docker driver and runtime", async () => {
    const { exec, spawn, calls } = recordingExec([{ argv: ["minikube", "profile", "list", "-o", "json"], exitCode: 85, stdout: "no profiles" }]);
    const provider = new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker });
    await expect(provider.ensure(() => undefined)).rejects.toThrow(/no context 'ml'/);
    expect(calls).toEqual([
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "start", "-p", "ml", "--driver=docker", "--container-runtime=docker"],
    ]);
  });

  it("reads profiles, and treats minikube's non-zero exit for none as none", async () => {
    expect(await listMinikubeProfiles(recordingExec([{ argv: ["minikube", "profile", "list"], stdout: profiles }]).exec)).toEqual([
      { name: "ml", status: "Running", driver: "docker", runtime: "docker" },
    ]);
    expect(await listMinikubeProfiles(recordingExec([{ argv: ["minikube", "profile", "list"], exitCode: 85 }]).exec)).toEqual([]);
  });

  it("parses docker-env for an in-process client without touching process.env", async () => {
    const before = process.env.DOCKER_HOST;
    const { exec, spawn, calls } = recordingExec([{
      argv: ["minikube", "docker-env"],
      stdout: 'DOCKER_TLS_VERIFY="1"\nDOCKER_HOST="tcp://192.168.49.2:2376"\nDOCKER_CERT_PATH="/home/me/.minikube/certs"\nMINIKUBE_ACTIVE_DOCKERD="ml"\n',
    }]);
    const env = await new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker }).dockerEnv();
    expect(calls).toEqual([["minikube", "docker-env", "-p", "ml", "--shell", "none"]]);
    expect(env).toEqual({ DOCKER_TLS_VERIFY: "1", DOCKER_HOST: "tcp://192.168.49.2:2376", DOCKER_CERT_PATH: "/home/me/.minikube/certs", MINIKUBE_ACTIVE_DOCKERD: "ml" });
    expect(process.env.DOCKER_HOST).toBe(before);
  });

  it("reports status with the node IP and deletes with -p", async () => {
    const { exec, spawn, calls } = recordingExec([
      { argv: ["minikube", "profile", "list"], stdout: profiles },
      { argv: ["minikube", "ip"], stdout: "192.168.49.2\n" },
    ]);
    const provider = new MinikubeProvider(minikubeChoice, settings, { exec, spawn, docker: unusedDocker });
    expect(await provider.status()).toMatchObject({ exists: true, running: true, nodes: ["ml (192.168.49.2)"] });
    await provider.remove({ registry: false }, () => undefined);
    expect(calls).toEqual([
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "ip", "-p", "ml"],
      ["minikube", "profile", "list", "-o", "json"],
      ["minikube", "delete", "-p", "ml"],
    ]);
  });
});
