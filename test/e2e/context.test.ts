/**
 * Issue 4, an existing kube context (`--provider context`): the simulator's kind cluster (made by
 * `mlkube up`, with its registry on localhost:5001) used as a cluster mlkube did not create, with
 * `cluster.registry` configured. The endpoint is a port-forward on 127.0.0.1, re-established after
 * every rollout; a context whose nodes cannot pull from the configured registry is refused.
 */
import { request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { BASE_IMAGE, removeRepository, uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { DevProcess } from "./support/dev-process.js";
import { addLimitedUser, type LimitedUser } from "./support/limited-user.js";
import { devOnce, modelDir, problemText, type DevRun, type ModelDir } from "./support/model-dir.js";

const describeKind = describe.runIf(PROVIDER === "kind");
const NAME = uniqueName("e2e-context").slice(0, 30);
const CONTEXT = `kind-${NAME}`;

/** One HTTP exchange on a fresh connection (a kept-alive one would outlive a re-established forward). */
function http(url: string, options: { method?: string; body?: unknown } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      { method: options.method ?? "GET", agent: false, headers: body ? { "content-type": "application/json" } : {}, timeout: 10_000 },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** A non-loopback address of this machine: what a remote cluster's API looks like from here. */
function externalAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((candidate) => candidate && candidate.family === "IPv4" && !candidate.internal);
  if (!address) throw new Error("this machine has no non-loopback IPv4 address");
  return address.address;
}

describeKind("an existing context (--provider context)", () => {
  let cluster: ModelDir;
  let model: ModelDir;

  beforeAll(async () => {
    // The cluster and its registry, made the usual way; from here on mlkube is only told the context.
    cluster = await modelDir(NAME);
    const up = await mlkube(["up", cluster.dir]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    model = await modelDir(NAME, `  context: ${CONTEXT}\n  registry: localhost:5001\n`);
    await model.edit("mlkube.yaml", `provider: ${PROVIDER}`, "provider: context");
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", "--all", cluster.dir]);
    await model?.cleanup();
    await cluster?.cleanup();
    await removeRepository("iris-sklearn");
  });

  it("dev deploys by push, serves through a port-forward on 127.0.0.1, and re-establishes it after the next rollout", async () => {
    // --no-live: the second iteration must be a rollout, whose new pod the same URL then reaches.
    const dev = new DevProcess(["dev", "--json", "--no-live", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, model.dir], { MLKUBE_SIM_FAST_BACKOFF: "1" });
    try {
      const ready = await dev.waitFor((event) => event.type === "cluster.ready", 120_000, 0, "cluster.ready");
      expect(ready).toMatchObject({ provider: "context", context: CONTEXT, deliveryPath: "registry" });
      const first = await dev.waitFor((event) => event.type === "iteration.finished", 300_000, 0, "the first iteration");
      expect(first, dev.lines.join("\n")).toMatchObject({ result: "success", deliveryPath: "registry", testsPassed: 3, testsFailed: 0 });
      expect(String(first.image)).toMatch(/^localhost:5001\/iris-sklearn:/);
      const endpoint = dev.events.find((event) => event.type === "endpoint");
      const url = String(endpoint?.url);
      // Not the NodePort: a port-forward listens on its own port of 127.0.0.1.
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toBe("http://127.0.0.1:30080");
      expect(await http(`${url}/predict`, { method: "POST", body: { features: [5.1, 3.5, 1.4, 0.2] } })).toEqual({
        status: 200,
        text: expect.stringMatching(/"prediction":\s*\[\s*0\s*\]/),
      });
      expect((await http(url)).text).toBe("Iris model service is running\n");

      const mark = dev.mark();
      await model.edit("app.py", '"Iris model service is running\\n"', '"Iris model service is running (second rollout)\\n"');
      const second = await dev.waitFor((event) => event.type === "iteration.finished", 300_000, mark, "the iteration after the edit");
      expect(second, dev.lines.slice(-40).join("\n")).toMatchObject({ result: "success", testsPassed: 3, testsFailed: 0 });
      expect(second.image).not.toBe(first.image);
      // Same URL, now forwarded to the new pod (the old one may still be terminating and answering).
      expect(dev.events.filter((event) => event.type === "endpoint").map((event) => event.url)).toEqual([url]);
      expect((await http(url)).text).toBe("Iris model service is running (second rollout)\n");
      expect((await http(`${url}/predict`, { method: "POST", body: { features: [6.7, 3.0, 5.2, 2.3] } })).text).toMatch(/"prediction":\s*\[\s*2\s*\]/);
    } finally {
      await dev.stop();
    }
  });

  describe("a context whose nodes cannot pull from the configured registry", () => {
    let proxy: Server;
    let dir: string;
    let remote: ModelDir;

    beforeAll(async () => {
      // The same API server seen at a non-loopback address, as a remote cluster would be: its
      // nodes are other machines, where localhost:5001 is not this machine's registry.
      const kubeconfig = parse(await readFile(process.env.KUBECONFIG ?? join(process.env.HOME ?? "", ".kube/config"), "utf8")) as {
        clusters: { name: string; cluster: { server: string } }[];
        contexts: { name: string; context: { cluster: string; user: string } }[];
        users: { name: string }[];
      };
      const context = kubeconfig.contexts.find((entry) => entry.name === CONTEXT);
      const server = new URL(kubeconfig.clusters.find((entry) => entry.name === context?.context.cluster)?.cluster.server ?? "");
      proxy = createServer((socket) => {
        const upstream = connect({ host: server.hostname, port: Number(server.port) });
        socket.pipe(upstream).pipe(socket);
        socket.on("error", () => upstream.destroy());
        upstream.on("error", () => socket.destroy());
      });
      const host = externalAddress();
      await new Promise<void>((resolve) => proxy.listen(0, host, resolve));
      const port = (proxy.address() as { port: number }).port;
      dir = await mkdtemp(join(tmpdir(), "mlkube-e2e-remote-"));
      await writeFile(
        join(dir, "kubeconfig"),
        stringify({
          apiVersion: "v1",
          kind: "Config",
          // The certificate names 127.0.0.1, not this address; the refusal comes before any trust question.
          clusters: [{ name: "remote", cluster: { server: `https://${host}:${port}`, "insecure-skip-tls-verify": true } }],
          users: [{ ...kubeconfig.users.find((entry) => entry.name === context?.context.user), name: "remote" }],
          contexts: [{ name: "remote", context: { cluster: "remote", user: "remote" } }],
          "current-context": "remote",
        }),
      );
      remote = await modelDir(NAME, "  context: remote\n  registry: localhost:5001\n");
      await remote.edit("mlkube.yaml", `provider: ${PROVIDER}`, "provider: context");
    });

    afterAll(async () => {
      proxy?.close();
      await remote?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("is refused before anything is built or deployed, naming the registry and the fix", async () => {
      const run = await devOnce(remote.dir, { KUBECONFIG: join(dir, "kubeconfig") });
      expect(run.code, run.stdout + run.stderr).toBe(1);
      const text = problemText(run, "cluster");
      expect(text).toMatch(/The cluster at https:\/\/[\d.]+:\d+ cannot pull from localhost:5001: that address means the node itself, not this machine\./);
      expect(text).toContain("Set cluster.registry to a registry the cluster's nodes can reach");
      expect(run.of("stage.started").map((event) => event.stage)).not.toContain("build");
    });
  });

  describe("a developer with limited rights (issue 13.5)", () => {
    const kubeconfigPath = process.env.KUBECONFIG ?? join(process.env.HOME ?? "", ".kube/config");
    const users: LimitedUser[] = [];
    const models: ModelDir[] = [];

    /** The fixture deployed by `user` into `namespace` through its own context, on its own NodePort. */
    async function limitedModel(user: LimitedUser, namespace: string, nodePort: number): Promise<ModelDir> {
      const dir = await modelDir(NAME, `  context: ${user.context}\n  registry: localhost:5001\n`, `namespace: ${namespace}\n`);
      models.push(dir);
      await dir.edit("mlkube.yaml", `provider: ${PROVIDER}`, "provider: context");
      await dir.edit("mlkube.yaml", "nodePort: 30080", `nodePort: ${nodePort}`);
      return dir;
    }

    /** mlkube's own notices in the log pane (--json: log events of kind notice) about this user's rights. */
    const notices = (run: DevRun): string[] =>
      run
        .of("log")
        .filter((event) => event.kind === "notice" && /^this user /.test(String(event.text)))
        .map((event) => String(event.text));

    afterAll(async () => {
      for (const user of users) await user.remove();
      for (const dir of models) await dir.cleanup();
    });

    it("with edit in its namespace: deploys and verifies, and says once what it does without pods and Services everywhere", async () => {
      const user = await addLimitedUser({ cluster: NAME, kubeconfigPath, user: "dev-edit", namespace: "team-a", role: "edit" });
      users.push(user);
      const run = await devOnce((await limitedModel(user, "team-a", 30083)).dir);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.of("iteration.finished")[0]).toMatchObject({ result: "success", testsPassed: 3, testsFailed: 0 });
      expect(notices(run)).toEqual([
        "this user may not list pods in all namespaces: old images are pruned only when no pod in namespace team-a runs them",
        "this user may not list services in all namespaces: a NodePort is chosen among those namespace team-a leaves free, and one another namespace holds is refused at apply",
      ]);
      expect(run.stdout).not.toMatch(/may not list events|forbidden/i);
    });

    it("without events: a crashing model fails as a crash loop, and the evidence says why no events are shown", async () => {
      const user = await addLimitedUser({
        cluster: NAME,
        kubeconfigPath,
        user: "dev-deployer",
        namespace: "team-b",
        // Everything the loop writes and watches, but no events, not even its Namespace object, and nothing cluster-wide.
        role: [
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["pods/portforward"], verbs: ["get", "create"] },
        ],
      });
      users.push(user);
      const model = await limitedModel(user, "team-b", 30084);
      await model.edit("app.py", /^import /m, 'raise SystemExit("model file is corrupt")\nimport ');
      const run = await devOnce(model.dir);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(notices(run)).toContainEqual("this user may not list events in namespace team-b: a failed rollout is explained without them, or at its timeout");
      const text = problemText(run, "rollout");
      expect(text).toMatch(/crash/i);
      expect(text).toContain("(the pods' events are not shown: this user may not list events in namespace team-b)");
      expect(run.stdout).not.toMatch(/forbidden/i);
    });
  });
});
