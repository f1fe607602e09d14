/**
 * Issue 4, `mlkube up` / `status` / `down` and their errors, as a user sees them: exit codes,
 * messages and JSON. One kind cluster for the whole file.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createdClustersFile } from "../../src/adapters/cluster/created-clusters.js";
import { docker, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { devOnce, modelDir, predict, type ModelDir } from "./support/model-dir.js";

const run = promisify(execFile);
const NAME = uniqueName("e2e-clusters").slice(0, 30);
const describeKind = describe.runIf(PROVIDER === "kind");

async function containerExists(name: string): Promise<boolean> {
  return docker
    .getContainer(name)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

async function kindClusters(): Promise<string[]> {
  const { stdout } = await run("kind", ["get", "clusters"], { env: process.env });
  return stdout.split("\n").filter(Boolean);
}

describeKind("mlkube up / status / down on kind", () => {
  let model: ModelDir;
  let firstUp: Awaited<ReturnType<typeof mlkube>>;

  beforeAll(async () => {
    model = await modelDir(NAME);
    firstUp = await mlkube(["up", model.dir]);
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", "--all", model.dir]);
    await model.cleanup();
  });

  it("up creates the cluster and the registry, showing each step and the elapsed time", () => {
    const output = firstUp.stdout + firstUp.stderr;
    expect(firstUp.code, output).toBe(0);
    expect(output).toContain(`kind cluster '${NAME}'`);
    expect(output).toMatch(/registry kind-registry on 127\.0\.0\.1:5001/);
    expect(output).toContain("registry announced (kube-public/local-registry-hosting)");
    expect(firstUp.stdout).toMatch(/ready in \d+(\.\d+)? ?s/);
    expect(firstUp.stdout).toContain(`context: kind-${NAME}`);
  });

  it("up again is a no-op that says so", async () => {
    const again = await mlkube(["up", model.dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(again.stderr).toContain(`kind cluster '${NAME}': already exists`);
  });

  it("up --dry-run prints the kind configuration with 127.0.0.1 port mappings and creates nothing", async () => {
    const other = await modelDir(`${NAME}-dry`);
    try {
      const plan = await mlkube(["up", "--dry-run", other.dir]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain("kind: Cluster");
      expect(plan.stdout).toContain("extraPortMappings:");
      expect(plan.stdout).toMatch(/containerPort: 30080\s+hostPort: 30080\s+listenAddress: 127\.0\.0\.1/);
      expect(plan.stdout).toContain("nothing was done");
      expect(await containerExists(`${NAME}-dry-control-plane`)).toBe(false);
      expect(await kindClusters()).not.toContain(`${NAME}-dry`);
    } finally {
      await other.cleanup();
    }
  });

  it("status --json shows the cluster, the running registry and the mapped node ports", async () => {
    const status = await mlkube(["status", "--json", model.dir]);
    expect(status.code, status.stderr).toBe(0);
    const json = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      choice: { kind: "kind", clusterName: NAME, context: `kind-${NAME}` },
      exists: true,
      running: true,
      nodes: [`${NAME}-control-plane`],
      registry: { container: "kind-registry", listen: "127.0.0.1:5001", running: true },
    });
    expect(json.mappedNodePorts).toEqual(expect.arrayContaining([30080, 30081, 30082, 30083, 30084]));
  });

  it("down refuses a cluster mlkube did not create, naming the kind command", async () => {
    const foreign = `${NAME}-foreign`.slice(0, 40);
    const other = await modelDir(foreign);
    try {
      await run("kind", ["create", "cluster", "--name", foreign], { env: process.env });
      const down = await mlkube(["down", "--yes", other.dir]);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain("was not created by mlkube");
      expect(down.stderr).toContain(`kind delete cluster --name ${foreign}`);
      expect(await kindClusters()).toContain(foreign);
    } finally {
      await run("kind", ["delete", "cluster", "--name", foreign], { env: process.env }).catch(() => undefined);
      await other.cleanup();
    }
  });

  it("down --yes removes the cluster, even when mlkube's record of it is damaged (saying so), and --all the registry too", async () => {
    // A record that cannot be read at all: the mark mlkube wrote into the cluster at creation decides.
    expect(process.env.MLKUBE_HOME, "the e2e setup's own MLKUBE_HOME, never the user's record").toBeDefined();
    const record = createdClustersFile();
    await writeFile(record, "\u0000\u0000 not a record");
    const down = await mlkube(["down", "--yes", model.dir]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain(`mlkube's record of the clusters it created, ${record}, is unreadable`);
    expect(down.stdout).toContain(`the kind cluster '${NAME}' carries mlkube's creation mark`);
    expect(await containerExists(`${NAME}-control-plane`)).toBe(false);
    expect(await kindClusters()).not.toContain(NAME);
    expect(await containerExists("kind-registry")).toBe(true);

    const all = await mlkube(["down", "--yes", "--all", model.dir]);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(await containerExists("kind-registry")).toBe(false);
  });
});

/** A program other than the registry listening on 127.0.0.1:PORT; resolves once it listens. */
async function holdPort(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${port}, "127.0.0.1", () => console.log("listening"))`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the port holder exited with ${code}: is ${port} already taken?`)));
  });
  return child;
}

describeKind("issue 17.6: the registry port held by another program", () => {
  const name = uniqueName("e2e-regport").slice(0, 30);
  let model: ModelDir;
  let holder: ChildProcess;

  beforeAll(async () => {
    model = await modelDir(name);
    // The registry of an earlier file would hold the port itself; this file needs it held by a stranger.
    await docker
      .getContainer("kind-registry")
      .remove({ force: true })
      .catch(() => undefined);
    holder = await holdPort(5001);
  });

  afterAll(async () => {
    holder.kill();
    await mlkube(["down", "--yes", model.dir]);
    await run("kind", ["delete", "cluster", "--name", name], { env: process.env }).catch(() => undefined);
    await model.cleanup();
  });

  it("up fails before creating anything, naming the holder and the fix", async () => {
    const up = await mlkube(["up", model.dir]);
    const output = up.stdout + up.stderr;
    expect(up.code, output).toBe(1);
    expect(up.stderr).toContain(`Port 127.0.0.1:5001, where mlkube runs its local registry (kind-registry), is taken by node (pid ${holder.pid}).`);
    expect(up.stderr).toContain("cluster.registry: off");
    expect(output).not.toMatch(/internal error/i);
    expect(await kindClusters()).not.toContain(name);
    expect(await containerExists("kind-registry")).toBe(false);
  });

  it("dev loads images for the session instead and says why; down removes the cluster dev made", async () => {
    const dev = await devOnce(model.dir);
    const ready = dev.of("cluster.ready")[0];
    expect(ready, dev.stdout.slice(-3000) + dev.stderr).toMatchObject({ deliveryPath: "load" });
    expect(ready?.deliveryReason).toContain(
      `the local registry could not start (port 127.0.0.1:5001, where mlkube runs its local registry (kind-registry), is taken by node (pid ${holder.pid}))`,
    );
    expect(dev.of("iteration.finished")[0]).toMatchObject({ result: "success", deliveryPath: "load" });
    expect(dev.code).toBe(0);
    expect(await containerExists("kind-registry")).toBe(false);

    const down = await mlkube(["down", "--yes", model.dir]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await kindClusters()).not.toContain(name);
  });
});

describeKind("issue 13.1: an existing kind cluster whose nodes cannot pull from the registry", () => {
  const name = uniqueName("e2e-oldnode").slice(0, 30);
  let model: ModelDir;

  beforeAll(async () => {
    // What `kind create cluster` of kind v0.26 makes: containerd 1.7 without config_path. It becomes the current context.
    await run("kind", ["create", "cluster", "--name", name, "--image", "kindest/node:v1.31.4", "--wait", "60s"], { env: process.env });
    model = await modelDir(name);
    await model.edit("mlkube.yaml", /provider: kind/, "provider: auto");
  });

  afterAll(async () => {
    await run("kind", ["delete", "cluster", "--name", name], { env: process.env }).catch(() => undefined);
    await model.cleanup();
  });

  it("dev says which cluster it chose and why, finds the nodes ignore hosts.toml, and loads the image instead", async () => {
    const dev = await devOnce(model.dir);
    const output = dev.stdout.slice(-3000) + dev.stderr;
    expect(
      dev.of("cluster.progress").map((event) => event.detail),
      output,
    ).toContainEqual(`kind '${name}': the current kube context is 'kind-${name}', a kind cluster`);
    const ready = dev.of("cluster.ready")[0];
    expect(ready, output).toMatchObject({ deliveryPath: "load" });
    expect(ready?.deliveryReason).toContain(
      `node ${name}-control-plane cannot pull from the local registry: its containerd (1.x) has no registry config_path, so it ignores hosts.toml`,
    );
    expect(ready?.deliveryReason).toContain("'--provider kind'");
    expect(dev.of("iteration.finished")[0], output).toMatchObject({ result: "success", deliveryPath: "load" });
    expect(dev.code, output).toBe(0);
  });
});

describeKind("issue 13.4: NodePorts held by another program", () => {
  const name = uniqueName("e2e-ports").slice(0, 30);
  let model: ModelDir;
  let holder: ChildProcess;

  beforeAll(async () => {
    // Loading instead of the registry: this test is about the ports, and a load needs no registry push.
    model = await modelDir(name, "  registry: off\n");
    holder = await holdPort(30082);
  });

  afterAll(async () => {
    holder.kill();
    await mlkube(["down", "--yes", model.dir]);
    await model.cleanup();
  });

  it("up fails before kind create, naming the holder and a free range; with that range in mlkube.yaml the model serves on it", async () => {
    const up = await mlkube(["up", model.dir]);
    expect(up.code, up.stdout + up.stderr).toBe(1);
    expect(up.stderr).toContain(
      `kind cluster '${name}' cannot be created: it maps its NodePorts to the same ports on 127.0.0.1, and 127.0.0.1:30082 is held by node (pid ${holder.pid}).`,
    );
    const offered = /cluster\.nodePorts: (3\d{4})-(3\d{4}) in mlkube\.yaml; \1-\2 are free now/.exec(up.stderr);
    expect(offered, up.stderr).not.toBeNull();
    expect(await kindClusters()).not.toContain(name);

    const [first, last] = [Number(offered![1]), Number(offered![2])];
    expect(last - first).toBe(4);
    await model.edit("mlkube.yaml", `  name: ${name}\n`, `  name: ${name}\n  nodePorts: ${first}-${last}\n`);
    // The fixture pins 30080, which would be mapped (and used) too: unpinned, the model takes the range's first port.
    await model.edit("mlkube.yaml", "service:\n  nodePort: 30080\n", "");
    const dev = await devOnce(model.dir);
    const output = dev.stdout.slice(-3000) + dev.stderr;
    expect(dev.of("iteration.finished")[0], output).toMatchObject({ result: "success" });
    expect(dev.of("endpoint")[0], output).toMatchObject({ url: `http://127.0.0.1:${first}` });
    expect(await predict(first)).toMatchObject({ status: 200 });
  });
});

describe("errors name the problem and the fix", () => {
  let model: ModelDir;
  let empty: string;

  beforeAll(async () => {
    model = await modelDir(uniqueName("e2e-errors").slice(0, 30));
    empty = await mkdtemp(join(tmpdir(), "mlkube-e2e-kubeconfig-"));
  });

  afterAll(async () => {
    await model.cleanup();
    await rm(empty, { recursive: true, force: true });
  });

  it("a missing kind binary names 'mlkube doctor --fix' and how to install kind", async () => {
    const kubeconfig = join(empty, "none");
    await writeFile(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    // Only node's own directory and the system's: no kind/minikube stand-ins, no real tools.
    const path = [dirname(process.execPath), "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(delimiter);
    const up = await mlkube(["up", model.dir], { env: { PATH: path, KUBECONFIG: kubeconfig } });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain("Run 'mlkube doctor --fix': it installs the kind release mlkube pins");
    expect(up.stderr).toMatch(/install kind \(https:\/\/kind\.sigs\.k8s\.io\/docs\/user\/quick-start\/#installation\)/);
  });

  it("a stopped Docker engine is reported as such", async () => {
    const up = await mlkube(["up", model.dir], { env: { DOCKER_HOST: "unix:///nonexistent" } });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain("Cannot reach the Docker engine");
  });

  it("an unreachable kube context says it cannot be reached, and why", async () => {
    const kubeconfig = join(empty, "unreachable");
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
        "users: [{name: gone, user: {token: x}}]",
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]",
        "current-context: gone",
        "",
      ].join("\n"),
    );
    const status = await mlkube(["up", "--provider", "context", "--context", "gone", model.dir], { env: { KUBECONFIG: kubeconfig } });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("The cluster at https://127.0.0.1:1 (context gone) cannot be reached: nothing listens there (connection refused).");
  });
});
