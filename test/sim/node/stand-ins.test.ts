/**
 * The kind and minikube stand-ins, run as mlkube runs them (executables on PATH): output formats,
 * streams and exit codes, node containers, kubeconfig files, and `sim down` leaving nothing behind.
 * The control plane here is stub-control-plane.ts, so these tests do not depend on apiserver/.
 */
import { execFile, spawn } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DockerDesktopRelay } from "../../support/docker-desktop-relay.js";
import { forwardsPort, isRunning, listening, processesWith } from "../../support/processes.js";
import { hostDocker } from "../docker.js";
import { ensureNodeImage } from "../images.js";
import { readLedger, REPO_ROOT, SIM_LABEL, type DaemonInfo } from "../state.js";
import { eventually, freePort, runTool, simAvailable, useTemporarySimHome } from "../testbed.js";
import { nodeEngine } from "./engine.js";

const run = promisify(execFile);
const available = await simAvailable();
const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const cluster = `simcli-${id}`;
const profile = `simmk-${id}`;
const tinyImage = `mlkube-sim-test/tiny:${id}`;

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, string> }[];
  contexts: { name: string; context: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
  "current-context": string;
}

describe.runIf(available)("the kind and minikube stand-ins", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let hostPort: number;
  /** The tunnel child a SIGKILLed `minikube service` left behind. */
  let orphanForward: number | undefined;
  const kind = (...args: string[]) => runTool("kind", args, env);
  const minikube = (...args: string[]) => runTool("minikube", args, env);
  const kubeconfig = async (): Promise<Kubeconfig> => parse(await readFile(join(home, "kubeconfig"), "utf8")) as Kubeconfig;

  beforeAll(async () => {
    home = await useTemporarySimHome();
    env = {
      MLKUBE_SIM_HOME: home,
      KUBECONFIG: join(home, "kubeconfig"),
      MINIKUBE_HOME: join(home, "minikube"),
      MLKUBE_SIM_CONTROL_PLANE: join(REPO_ROOT, "test/sim/stub-control-plane.ts"),
    };
    await ensureNodeImage();
    hostPort = await freePort();
    await run("sh", ["-c", `printf tiny > /tmp/${id} && tar -C /tmp -c ${id} | docker import - ${tinyImage} >/dev/null && rm /tmp/${id}`]);
  }, 600_000);

  afterAll(async () => {
    await run("npx", ["tsx", "test/sim/cli.ts", "down"], { cwd: REPO_ROOT, env: { ...process.env, ...env } }).catch(() => undefined);
    await hostDocker
      .getImage(tinyImage)
      .remove()
      .catch(() => undefined);
  }, 120_000);

  it("answers version and lookups of nothing like kind and minikube", async () => {
    expect(await kind("version")).toMatchObject({ code: 0, stdout: expect.stringMatching(/^kind v\d+\.\d+\.\d+ go\S+ linux\/amd64\n$/) });
    const clusters = await kind("get", "clusters");
    expect(clusters.code).toBe(0);
    if (clusters.stdout === "") expect(clusters.stderr).toBe("No kind clusters found.\n");
    expect(await kind("get", "nodes", "--name", cluster)).toEqual({ code: 0, stdout: "", stderr: `No kind nodes found for cluster "${cluster}".\n` });
    expect(await kind("get", "kubeconfig", "--name", cluster)).toEqual({
      code: 1,
      stdout: "",
      stderr: `ERROR: could not locate any control plane nodes for cluster named '${cluster}'. Use the --name option to select a different cluster\n`,
    });
    expect(await kind("load", "docker-image", "no-such-image:1", "--name", cluster)).toMatchObject({
      code: 1,
      stderr: 'ERROR: image: "no-such-image:1" not present locally\n',
    });
    expect(await kind("get", "clusters", "--bogus")).toMatchObject({ code: 1, stderr: "ERROR: unknown flag: --bogus\n" });
    expect(await kind("delete", "cluster", "--name", cluster)).toEqual({ code: 0, stdout: "", stderr: `Deleting cluster "${cluster}" ...\n` });

    expect(await minikube("version", "--short")).toEqual({ code: 0, stdout: "v1.35.0\n", stderr: "" });
    expect(JSON.parse((await minikube("version", "-o", "json")).stdout)).toMatchObject({ minikubeVersion: "v1.35.0" });
    const status = await minikube("status", "-p", profile);
    expect(status.code).toBe(85);
    expect(status.stdout).toContain(`Profile "${profile}" not found. Run "minikube profile list" to view all profiles.`);
    expect(await minikube("profile", "list", "-o", "json")).toEqual({ code: 0, stdout: '{"invalid":[],"valid":[]}', stderr: "" });
    expect((await minikube("profile", "list")).code).toBe(14);
    expect(await minikube("ip", "-p", profile)).toMatchObject({ code: 85 });
  }, 60_000);

  it("creates a kind cluster: kind's output, node container, port mapping and kubeconfig", async () => {
    const config = join(home, "kind.yaml");
    await run("sh", [
      "-c",
      `cat > ${config} <<'EOF'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraPortMappings:
  - containerPort: 30080
    hostPort: ${hostPort}
    listenAddress: "127.0.0.1"
EOF`,
    ]);
    const created = await kind("create", "cluster", "--name", cluster, "--config", config, "--wait", "1m");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe("");
    expect(created.stderr.split("\n").filter((line) => line.startsWith(" ✓"))).toEqual([
      " ✓ Ensuring node image (mlkube-sim/node:bookworm) 🖼",
      " ✓ Preparing nodes 📦",
      " ✓ Writing configuration 📜",
      " ✓ Starting control-plane 🕹️",
      " ✓ Installing CNI 🔌",
      " ✓ Installing StorageClass 💾",
      " ✓ Waiting ≤ 1m0s for control-plane = Ready ⏳",
    ]);
    expect(created.stderr).toContain(
      `Set kubectl context to "kind-${cluster}"\nYou can now use your cluster with:\n\nkubectl cluster-info --context kind-${cluster}\n`,
    );

    const node = await hostDocker.getContainer(`${cluster}-control-plane`).inspect();
    expect(node.Config.Labels).toMatchObject({ "io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": "control-plane", [SIM_LABEL]: home });
    expect(node.HostConfig.PortBindings).toEqual({ "30080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });
    expect(node.HostConfig.NetworkMode).toBe("kind");

    const config1 = await kubeconfig();
    expect(config1["current-context"]).toBe(`kind-${cluster}`);
    expect(config1.contexts).toContainEqual({ name: `kind-${cluster}`, context: { cluster: `kind-${cluster}`, user: `kind-${cluster}` } });
    const entry = config1.clusters.find((item) => item.name === `kind-${cluster}`);
    expect(entry?.cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(Buffer.from(entry?.cluster["certificate-authority-data"] ?? "", "base64").toString()).toContain("BEGIN CERTIFICATE");
    expect(Object.keys(config1.users.find((item) => item.name === `kind-${cluster}`)?.user ?? {})).toEqual(["client-certificate-data", "client-key-data"]);

    expect((await kind("get", "clusters")).stdout.split("\n")).toContain(cluster);
    expect(await kind("get", "nodes", "--name", cluster)).toEqual({ code: 0, stdout: `${cluster}-control-plane\n`, stderr: "" });
    const printed = parse((await kind("get", "kubeconfig", "--name", cluster)).stdout) as Kubeconfig;
    expect(printed.clusters[0]?.cluster.server).toBe(entry?.cluster.server);
    expect(await kind("create", "cluster", "--name", cluster)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${cluster}"`),
    });
  }, 180_000);

  it("loads an image into the kind node once, reporting like kind", async () => {
    const imageId = (await hostDocker.getImage(tinyImage).inspect()).Id;
    const first = await kind("load", "docker-image", tinyImage, "--name", cluster);
    expect(first).toEqual({
      code: 0,
      stdout: "",
      stderr: `Image: "${tinyImage}" with ID "${imageId}" not yet present on node "${cluster}-control-plane", loading...\n`,
    });
    const nodeIP = (await hostDocker.getContainer(`${cluster}-control-plane`).inspect()).NetworkSettings.Networks.kind?.IPAddress as string;
    expect((await nodeEngine(nodeIP).getImage(tinyImage).inspect()).Id).toBe(imageId);
    expect((await kind("load", "docker-image", tinyImage, "--name", cluster)).stderr).toBe(
      `Image: "${tinyImage}" with ID "${imageId}" found to be already present on all nodes.\n`,
    );
  }, 120_000);

  it("runs a minikube profile: status, ip, profile list, docker-env, service, image load, delete", async () => {
    const started = await minikube("start", "-p", profile, "--driver", "docker", "--container-runtime", "docker", "--ports", "127.0.0.1:0:30080");
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`🏄  Done! kubectl is now configured to use "${profile}" cluster and "default" namespace by default`);
    const ip = (await minikube("ip", "-p", profile)).stdout.trim();
    expect(ip).toMatch(/^192\.168\.\d+\.2$/);
    expect(await minikube("status", "-p", profile)).toEqual({
      code: 0,
      stderr: "",
      stdout: `${profile}\ntype: Control Plane\nhost: Running\nkubelet: Running\napiserver: Running\nkubeconfig: Configured\n\n`,
    });
    expect(JSON.parse((await minikube("status", "-p", profile, "-o", "json")).stdout)).toEqual({
      Name: profile,
      Host: "Running",
      Kubelet: "Running",
      APIServer: "Running",
      Kubeconfig: "Configured",
      Worker: false,
    });
    const list = JSON.parse((await minikube("profile", "list", "-o", "json")).stdout) as {
      valid: { Name: string; Status: string; Config: { Nodes: { IP: string }[] } }[];
    };
    expect(list.valid).toEqual([
      expect.objectContaining({
        Name: profile,
        Status: "OK",
        ActiveKubeContext: true,
        Config: expect.objectContaining({ Driver: "docker", Nodes: [expect.objectContaining({ IP: ip })] }),
      }),
    ]);

    const dockerEnv = await minikube("docker-env", "-p", profile, "--shell", "none");
    const certPath = join(home, "minikube/.minikube/certs");
    expect(dockerEnv).toEqual({
      code: 0,
      stderr: "",
      stdout: `DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://${ip}:2376\nDOCKER_CERT_PATH=${certPath}\nMINIKUBE_ACTIVE_DOCKERD=${profile}\n`,
    });
    // The docker CLI reaches the node's own engine with exactly those variables.
    const { stdout: version } = await run("docker", ["version", "--format", "{{.Server.Version}}"], {
      env: { ...process.env, DOCKER_TLS_VERIFY: "1", DOCKER_HOST: `tcp://${ip}:2376`, DOCKER_CERT_PATH: certPath },
    });
    expect(version.trim()).toMatch(/^\d+\.\d+/);

    expect(await minikube("image", "load", tinyImage, "-p", profile)).toMatchObject({ code: 0 });
    expect((await nodeEngine(ip).getImage(tinyImage).inspect()).Id).toBe((await hostDocker.getImage(tinyImage).inspect()).Id);
    expect(await minikube("service", "stub-svc", "--url", "-p", profile)).toEqual({ code: 0, stdout: `http://${ip}:30080\n`, stderr: "" });
    expect(await minikube("service", "missing", "--url", "-p", profile)).toMatchObject({
      code: 115,
      stderr: expect.stringContaining("Exiting due to SVC_NOT_FOUND: Service 'missing' was not found in 'default' namespace."),
    });

    await expectTunnelsBehindDockerDesktop(ip);

    const config = await kubeconfig();
    expect(config["current-context"]).toBe(profile);
    expect(config.clusters.find((item) => item.name === profile)?.cluster["certificate-authority"]).toBe(join(home, "minikube/.minikube/ca.crt"));
    expect(config.contexts.find((item) => item.name === profile)?.context).toMatchObject({ cluster: profile, namespace: "default", user: profile });

    const deleted = await minikube("delete", "-p", profile);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`💀  Removed all traces of the "${profile}" cluster.`);
    expect((await kubeconfig()).contexts.map((item) => item.name)).not.toContain(profile);
    expect((await hostDocker.listNetworks()).map((network) => network.Name)).not.toContain(profile);
    expect(await minikube("status", "-p", profile)).toMatchObject({ code: 85 });
  }, 180_000);

  /**
   * The same profile seen through an engine that says it is Docker Desktop (driver.go
   * NeedsPortForward): docker-env names the node engine's port published on 127.0.0.1, and
   * `service --url` is a tunnel that lives as long as minikube, stopped by SIGINT only.
   */
  async function expectTunnelsBehindDockerDesktop(ip: string): Promise<void> {
    const relay = new DockerDesktopRelay(join(home, "desktop.sock"));
    await relay.start();
    const desktop = { ...env, DOCKER_HOST: relay.dockerHost };
    try {
      const published = (await hostDocker.getContainer(profile).inspect()).NetworkSettings.Ports["2376/tcp"]?.[0]?.HostPort;
      const certPath = join(home, "minikube/.minikube/certs");
      const dockerEnv = await runTool("minikube", ["docker-env", "-p", profile, "--shell", "none"], desktop);
      expect(dockerEnv).toEqual({
        code: 0,
        stderr: "",
        stdout: `DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://127.0.0.1:${published}\nDOCKER_CERT_PATH=${certPath}\nMINIKUBE_EXISTING_DOCKER_HOST=${relay.dockerHost}\nMINIKUBE_ACTIVE_DOCKERD=${profile}\n`,
      });
      expect(relay.infoRequests).toBeGreaterThan(0);
      // The published port reaches the node's own engine (the image loaded above is there).
      const { stdout: inspected } = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tinyImage], {
        env: { ...process.env, DOCKER_TLS_VERIFY: "1", DOCKER_HOST: `tcp://127.0.0.1:${published}`, DOCKER_CERT_PATH: certPath },
      });
      expect(inspected.trim()).toBe((await hostDocker.getImage(tinyImage).inspect()).Id);

      const tunnel = await startTunnel(desktop);
      expect(tunnel.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(tunnel.url).not.toContain(ip);
      const port = Number(new URL(tunnel.url).port);
      expect(await tunnel.stderr()).toContain("❗  Because you are using a Docker driver on linux, the terminal needs to be open to run it.");
      expect(await listening(port)).toBe(true);
      const [ssh] = await processesWith(forwardsPort(port));
      expect(ssh?.args.join(" ")).toContain(`-L ${port}:${ip}:30080`);
      // SIGINT: minikube stops its ssh child and exits 0.
      tunnel.child.kill("SIGINT");
      expect(await tunnel.exit).toBe(0);
      await eventually(async () => ((await processesWith(forwardsPort(port))).length === 0 ? true : undefined), 5_000);
      expect(await listening(port)).toBe(false);

      // Killed any other way, minikube leaves the child behind, holding the port, as Go's minikube leaves ssh.
      const killed = await startTunnel(desktop);
      const killedPort = Number(new URL(killed.url).port);
      killed.child.kill("SIGKILL");
      await killed.exit;
      const orphans = await processesWith(forwardsPort(killedPort));
      expect(orphans).toHaveLength(1);
      expect(await listening(killedPort)).toBe(true);
      // `sim down` ends it (checked there).
      orphanForward = orphans[0]?.pid;
    } finally {
      await relay.stop();
    }
  }

  /** `minikube service stub-svc --url` left running, with its first URL. */
  async function startTunnel(extraEnv: NodeJS.ProcessEnv) {
    const child = spawn(join(REPO_ROOT, "test/sim/bin/minikube"), ["service", "stub-svc", "--url", "-p", profile], {
      env: { ...process.env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("\n")) resolve(stdout.split("\n")[0] as string);
      });
      void exit.then((code) => reject(new Error(`minikube service exited ${code}: ${stderr}`)));
    });
    return { child, url, exit, stderr: () => eventually(async () => (stderr.includes("❗") ? stderr : undefined), 5_000) };
  }

  it("deletes the kind cluster with kind's report and cleans its kubeconfig entries", async () => {
    expect(await kind("delete", "cluster", "--name", cluster)).toEqual({
      code: 0,
      stdout: "",
      stderr: `Deleting cluster "${cluster}" ...\nDeleted nodes: ["${cluster}-control-plane"]\n`,
    });
    const config = await kubeconfig();
    expect(config["current-context"]).toBe("");
    expect(config.clusters.map((item) => item.name)).not.toContain(`kind-${cluster}`);
    expect(await kind("get", "nodes", "--name", cluster)).toMatchObject({ stdout: "" });
  }, 60_000);

  it("leaves no process, container, network, route or directory behind after `sim down`", async () => {
    const hostPort2 = await freePort();
    const createdB = await kind("create", "cluster", "--name", `${cluster}-b`);
    expect(createdB.code, createdB.stderr).toBe(0);
    const startedB = await minikube("start", "-p", `${profile}-b`, "--ports", `127.0.0.1:${hostPort2}:30080`);
    expect(startedB.code, startedB.stderr).toBe(0);
    const ledger = await readLedger();
    const daemons = ledger.filter((entry) => entry.type === "daemon").map((entry) => (entry as { pid: number }).pid);
    const daemonInfo = JSON.parse(await readFile(join(home, "clusters", `kind-${cluster}-b`, "daemon.json"), "utf8")) as DaemonInfo;
    expect(daemons).toContain(daemonInfo.pid);

    await run("npx", ["tsx", "test/sim/cli.ts", "down"], { cwd: REPO_ROOT, env: { ...process.env, ...env } });

    // A stopped daemon may linger a moment as a zombie until init reaps it.
    for (const pid of daemons)
      await eventually(
        async () =>
          (await access(`/proc/${pid}`).then(
            () => true,
            () => false,
          ))
            ? undefined
            : true,
        10_000,
      );
    expect(await hostDocker.listContainers({ all: true, filters: JSON.stringify({ label: [`${SIM_LABEL}=${home}`] }) })).toEqual([]);
    const networks = (await hostDocker.listNetworks()).filter((network) => network.Labels?.[SIM_LABEL] === home);
    expect(networks).toEqual([]);
    expect((await hostDocker.listVolumes()).Volumes?.filter((volume) => volume.Labels?.[SIM_LABEL] === home) ?? []).toEqual([]);
    const routes = (await run("ip", ["route", "show", "proto", "199"])).stdout;
    for (const entry of ledger) if (entry.type === "route") expect(routes).not.toContain(entry.cidr.replace("/24", ""));
    for (const entry of ledger)
      if (entry.type === "cgroup")
        expect(
          await access(`/sys/fs/cgroup/memory/${entry.path}`).then(
            () => true,
            () => false,
          ),
        ).toBe(false);
    expect(
      await access(home).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    expect(orphanForward).toBeDefined();
    await eventually(async () => ((await isRunning(orphanForward!)) ? undefined : true), 5_000);
    const leftovers = (await run("sh", ["-c", "ls -d /tmp/mlkube-sim-build-* 2>/dev/null || true"])).stdout.trim();
    expect(leftovers).toBe("");
  }, 240_000);
});
