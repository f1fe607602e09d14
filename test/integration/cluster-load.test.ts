import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KindProvider } from "../../src/adapters/cluster/kind.js";
import { MinikubeProvider } from "../../src/adapters/cluster/minikube.js";
import { connectDocker } from "../../src/adapters/docker/client.js";
import { execInContainer, writeFileInContainer } from "../../src/adapters/docker/container-exec.js";
import { BASE_IMAGE, docker, engineAvailable, uniqueName } from "../support/engine.js";
import { recordingExec } from "../support/recording-exec.js";

const hasEngine = await engineAvailable();
/** These paths create nothing, so nothing may be recorded. */
const noRecord = { lookup: async () => ({ listed: false, file: "none" }), add: async () => expect.fail("recorded a cluster"), remove: async () => undefined };

/**
 * The whole-image load paths, argv-exact, with the real engine (the image's ID and size come from
 * it) and recorded kind/minikube calls. The checks that follow a load are what keep a half-finished
 * load (kind#2402) or minikube keeping an old image (minikube#11276) from surfacing later as a
 * confusing pod error.
 */
describe.runIf(hasEngine)("whole-image load delivery", () => {
  const engine = connectDocker();
  let kubeconfigDir: string;
  let image: { repository: string; tag: string; imageId: string };

  beforeAll(async () => {
    const [repository, tag] = BASE_IMAGE.split(":") as [string, string];
    image = { repository, tag, imageId: (await docker.getImage(BASE_IMAGE).inspect()).Id };
    kubeconfigDir = await mkdtemp(join(tmpdir(), "mlkube-kubeconfig-"));
    await writeFile(join(kubeconfigDir, "config"), "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
  });
  afterAll(() => rm(kubeconfigDir, { recursive: true, force: true }));

  it("kind: loads with 'kind load docker-image' and refuses when a node lacks that exact image", async () => {
    const { exec, calls } = recordingExec([{ argv: ["kind", "get", "nodes"], stdout: "mlkube-e2e-no-such-node\n" }]);
    const provider = new KindProvider(
      { kind: "kind", clusterName: "mlkube", context: "kind-mlkube", reason: "" },
      { nodePorts: [30080], registry: undefined, registrySetting: "off" },
      { exec, docker: engine, record: noRecord },
    );
    const load = (provider as unknown as { load(image: unknown): Promise<unknown> }).load.bind(provider);
    // The node container does not exist, so crictl finds nothing: the delivery must fail, not succeed silently.
    await expect(load(image)).rejects.toThrow(`After 'kind load docker-image', node mlkube-e2e-no-such-node has no image for ${BASE_IMAGE}`);
    expect(calls).toEqual([
      ["kind", "load", "docker-image", BASE_IMAGE, "--name", "mlkube"],
      ["kind", "get", "nodes", "--name", "mlkube"],
    ]);
  });

  it("minikube: loads with 'minikube image load', then checks the ID 'minikube image ls' reports", async () => {
    const listed = (id: string) => JSON.stringify([{ id, repoTags: [`docker.io/${BASE_IMAGE}`], size: "1" }]);
    const choice = { kind: "minikube" as const, clusterName: "ml", context: "ml", reason: "" };
    const settings = { registrySetting: "off", platform: "linux" as const, isWsl: false };

    const good = recordingExec([{ argv: ["minikube", "image", "ls"], stdout: listed(image.imageId.replace("sha256:", "")) }]);
    const ok = new MinikubeProvider(choice, settings, { exec: good.exec, spawn: good.spawn, docker: engine, record: noRecord });
    const result = await (ok as unknown as { load(image: unknown): Promise<{ path: string; podImage: string; bytesMoved: number }> }).load(image);
    expect(result).toMatchObject({ path: "load", podImage: BASE_IMAGE });
    expect(result.bytesMoved).toBeGreaterThan(100_000_000);
    expect(good.calls).toEqual([
      ["minikube", "image", "load", BASE_IMAGE, "-p", "ml"],
      ["minikube", "image", "ls", "--format", "json", "-p", "ml"],
    ]);

    const stale = recordingExec([{ argv: ["minikube", "image", "ls"], stdout: listed("0123456789ab") }]);
    const kept = new MinikubeProvider(choice, settings, { exec: stale.exec, spawn: stale.spawn, docker: engine, record: noRecord });
    await expect((kept as unknown as { load(image: unknown): Promise<unknown> }).load(image)).rejects.toThrow(/has image 0123456789ab/);
  });

  it("minikube, Docker's containerd image store: the node's config digest differs, containerd's target digest is the engine's ID", async () => {
    // The host's image ID stands for a containerd-store ID (an index digest); the node's CRI reports a config digest.
    const configDigest = `sha256:${"c0ffee".repeat(10)}abcd`;
    const listed = JSON.stringify([{ id: configDigest, repoTags: [`docker.io/${BASE_IMAGE}`], size: "1" }]);
    const ctrRow = `REF TYPE DIGEST SIZE PLATFORMS LABELS\ndocker.io/${BASE_IMAGE} application/vnd.oci.image.index.v1+json ${image.imageId} 800.1 MiB linux/amd64 io.cri-containerd.image=managed\n`;
    const { exec, spawn, calls } = recordingExec([
      { argv: ["minikube", "image", "ls"], stdout: listed },
      { argv: ["minikube", "ssh"], stdout: ctrRow },
    ]);
    const provider = new MinikubeProvider(
      { kind: "minikube", clusterName: "ml", context: "ml", reason: "" },
      { registrySetting: "off", platform: "linux", isWsl: false },
      { exec, spawn, docker: engine, record: noRecord },
    );
    const result = await (provider as unknown as { load(image: unknown): Promise<{ path: string }> }).load(image);
    expect(result).toMatchObject({ path: "load", podImage: BASE_IMAGE });
    expect(calls.at(-1)).toEqual(["minikube", "ssh", "-p", "ml", "--", "sudo", "ctr", "--namespace=k8s.io", "images", "ls", `name==docker.io/${BASE_IMAGE}`]);
  });

  it("kind, Docker's containerd image store: a node whose crictl reports the config digest and ctr the engine's ID passes; a stale one fails", async () => {
    const configDigest = `sha256:${"c0ffee".repeat(10)}abcd`;
    // A stand-in node: crictl and ctr answer as a kind node's do after loading an image from a containerd-store engine.
    const nodeFor = async (target: string) => {
      const name = uniqueName("mlkube-test-node");
      const crictl = JSON.stringify({ status: { id: configDigest, repoTags: [`docker.io/${BASE_IMAGE}`], repoDigests: [], size: "1" } });
      const ctr = `REF TYPE DIGEST SIZE PLATFORMS LABELS\ndocker.io/${BASE_IMAGE} application/vnd.oci.image.index.v1+json ${target} 800.1 MiB linux/amd64 -`;
      const container = await docker.createContainer({ name, Image: BASE_IMAGE, Entrypoint: ["sleep", "600"] });
      await container.start();
      await writeFileInContainer(docker, name, "/answers/crictl.json", crictl);
      await writeFileInContainer(docker, name, "/answers/ctr.txt", ctr);
      await writeFileInContainer(docker, name, "/usr/local/bin/crictl", "#!/bin/sh\ncat /answers/crictl.json\n");
      await writeFileInContainer(docker, name, "/usr/local/bin/ctr", "#!/bin/sh\ncat /answers/ctr.txt\n");
      await execInContainer(docker, name, ["chmod", "+x", "/usr/local/bin/crictl", "/usr/local/bin/ctr"]);
      return { name, remove: () => container.remove({ force: true }) };
    };
    const provider = (nodeName: string) => {
      const { exec } = recordingExec([{ argv: ["kind", "get", "nodes"], stdout: `${nodeName}\n` }]);
      const kind = new KindProvider(
        { kind: "kind", clusterName: "mlkube", context: "kind-mlkube", reason: "" },
        { nodePorts: [30080], registry: undefined, registrySetting: "off" },
        { exec, docker: engine, record: noRecord },
      );
      return (kind as unknown as { load(image: unknown): Promise<{ path: string }> }).load.bind(kind);
    };
    const good = await nodeFor(image.imageId);
    const stale = await nodeFor(`sha256:${"0ld".repeat(21)}0`);
    try {
      expect(await provider(good.name)(image)).toMatchObject({ path: "load", podImage: BASE_IMAGE });
      await expect(provider(stale.name)(image)).rejects.toThrow(
        `After 'kind load docker-image', node ${stale.name} has image ${configDigest.slice(0, 19)} (target sha256:0ld0ld0ld0ld) for ${BASE_IMAGE}`,
      );
    } finally {
      await Promise.all([good.remove(), stale.remove()]);
    }
  });

  it("minikube off Linux: the endpoint is a 'minikube service --url' tunnel mlkube keeps and stops", async () => {
    const { exec, spawn, calls } = recordingExec([{ argv: ["minikube", "service"], stdout: "http://127.0.0.1:51234\n" }]);
    const provider = new MinikubeProvider(
      { kind: "minikube", clusterName: "ml", context: "ml", reason: "" },
      { registrySetting: "auto", platform: "darwin", isWsl: false },
      { exec, spawn, docker: engine, record: noRecord },
    );
    const kube = { core: { readNamespacedService: async () => ({ spec: { ports: [{ port: 8080, nodePort: 30080 }] } }) } };
    const endpoint = await (
      provider as unknown as { endpoint(kube: unknown, service: unknown): Promise<{ url: string; via: string; close(): Promise<void> }> }
    ).endpoint(kube, { namespace: "default", name: "iris", nodePort: 30080 });
    expect(endpoint).toMatchObject({ url: "http://127.0.0.1:51234", via: "tunnel" });
    await endpoint.close();
    expect(calls).toEqual([["minikube", "service", "iris", "--url", "-n", "default", "-p", "ml"]]);
  });
});
