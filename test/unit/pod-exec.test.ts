/**
 * execInPod against the simulator's control plane: one cluster plays Kubernetes 1.30+ (exec over
 * WebSocket v5, stdin can be closed), one plays 1.29 (v4, it cannot). The fake node runtime runs
 * exec'd commands as real processes in a scratch directory per container, so tar, sha256sum and
 * exit codes are real.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectKube, type KubeAccess } from "../../src/adapters/kube/client.js";
import { EXEC_OUTPUT_LIMIT, execInPod, readingExactly } from "../../src/adapters/kube/pod-exec.js";
import { UserError } from "../../src/errors.js";
import { FakeRuntime } from "../sim/apiserver/fake-runtime.js";
import { eventually, startTestCluster, type TestCluster } from "../sim/apiserver/testing.js";

let v5: TestCluster;
let v4: TestCluster;
let kube5: KubeAccess;
let kube4: KubeAccess;
const web = { namespace: "default", pod: "web" };

function runtime(): FakeRuntime {
  const fake = new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1"] });
  fake.script = (spec) => (spec.podName === "done" ? { exitAfterMs: 10, exitCode: 0 } : {});
  return fake;
}

async function createPods(c: TestCluster): Promise<void> {
  const pod = (name: string, extra: Record<string, unknown> = {}) =>
    c.core.createNamespacedPod({ namespace: "default", body: { metadata: { name }, spec: { containers: [{ name: "model", image: "model:v1" }], ...extra } } });
  await pod("web");
  await pod("done", { restartPolicy: "Never" });
  await eventually(
    async () => (await c.core.readNamespacedPod({ namespace: "default", name: "web" })).status?.containerStatuses?.[0]?.state?.running,
    10_000,
    "web running",
  );
  await eventually(async () => (await c.core.readNamespacedPod({ namespace: "default", name: "done" })).status?.phase === "Succeeded", 10_000, "done finished");
}

beforeAll(async () => {
  v5 = await startTestCluster({ runtimes: [runtime()] });
  v4 = await startTestCluster({ runtimes: [runtime()], tuning: { streamCloseWebsocket: false } });
  await Promise.all([createPods(v5), createPods(v4)]);
  kube5 = connectKube("kind-sim", v5.kc);
  kube4 = connectKube("kind-sim", v4.kc);
});
afterAll(async () => {
  await v5?.close();
  await v4?.close();
});

const files = { "model.py": "print('v2')\n", "weights.bin": "0123456789abcdef".repeat(40_000) };

function tarOf(content: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "mlkube-pod-exec-"));
  try {
    for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
    return execFileSync("tar", ["-cf", "-", "-C", dir, ...Object.keys(content)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** sha256sum's output for the files, as the container should print it. */
function expectedSums(content: Record<string, string>): string {
  return Object.entries(content)
    .map(([name, text]) => `${sha256(text)}  ${name}\n`)
    .join("");
}

describe("execInPod on Kubernetes 1.30+ (v5)", () => {
  test("a tar stream is extracted in the pod; sha256sum there matches the files", async () => {
    const archive = tarOf(files);
    // A stream in small chunks, as a packer would produce it.
    const chunks = Array.from({ length: Math.ceil(archive.length / 65_536) }, (_, i) => archive.subarray(i * 65_536, (i + 1) * 65_536));
    const extracted = await execInPod(kube5, web, ["sh", "-c", "mkdir -p app && tar -xf - -C app"], { stdin: Readable.from(chunks) });
    expect(extracted).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const sums = await execInPod(kube5, web, ["sh", "-c", "cd app && sha256sum model.py weights.bin"]);
    expect(sums).toEqual({ exitCode: 0, stdout: expectedSums(files), stderr: "" });
  });

  test("stdin that a command reads to its end: the end reaches it (cat ends)", async () => {
    const result = await execInPod(kube5, web, ["sh", "-c", "cat > copy.bin && sha256sum < copy.bin"], { stdin: Buffer.from("exactly this") });
    expect(result.stdout).toBe(`${sha256("exactly this")}  -\n`);
  });

  test("a non-zero exit resolves with its code and both outputs apart", async () => {
    const result = await execInPod(kube5, web, ["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(result).toEqual({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
  });

  test("output beyond the limit is cut, with a note", async () => {
    const result = await execInPod(kube5, web, ["sh", "-c", `head -c ${EXEC_OUTPUT_LIMIT + 5000} /dev/zero | tr '\\0' x`]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.startsWith("x".repeat(EXEC_OUTPUT_LIMIT))).toBe(true);
    expect(result.stdout.slice(EXEC_OUTPUT_LIMIT)).toBe(`\n[mlkube: stdout cut at ${EXEC_OUTPUT_LIMIT} bytes; 5000 more bytes not kept]`);
  });

  test("an abort ends the session: the call fails as cancelled and the pod's side sees the socket close", async () => {
    const stdin = new PassThrough(); // never ends: only the closed socket ends the command's input
    const controller = new AbortController();
    const running = execInPod(kube5, web, ["sh", "-c", "cat > /dev/null; echo closed > abort-marker"], { stdin, signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(running).rejects.toMatchObject({ kind: "cancelled" });
    await eventually(async () => (await execInPod(kube5, web, ["cat", "abort-marker"])).stdout === "closed\n", 5_000, "the command's stdin to end");
  });

  test("a pod that does not exist, a container it does not have: clear errors", async () => {
    await expect(execInPod(kube5, { namespace: "default", pod: "gone" }, ["true"])).rejects.toThrow(
      "Cannot run a command in pod default/gone: the pod does not exist (a rollout may have replaced it).",
    );
    await expect(execInPod(kube5, { ...web, container: "nope" }, ["true"])).rejects.toThrow(
      "Cannot run a command in container nope of pod default/web: the pod has no container 'nope' (it has model).",
    );
  });

  test("a container that is not running: the API server's reason", async () => {
    const failure = execInPod(kube5, { namespace: "default", pod: "done" }, ["true"]);
    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toThrow(
      'The command could not be run in pod default/done: Internal error occurred: unable to upgrade connection: container not found ("model").',
    );
  });

  test("an API server that does not answer: the connection failure, named", async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "dead", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "dead", token: "x" }],
      contexts: [{ name: "dead", cluster: "dead", user: "dead" }],
      currentContext: "dead",
    });
    await expect(execInPod(connectKube("dead", config), web, ["true"])).rejects.toThrow(
      "The cluster at https://127.0.0.1:1 (context dead) cannot be reached: nothing listens there (connection refused).",
    );
  });
});

test("an API server that forbids exec: the permission to ask for", async () => {
  // RBAC is not simulated: a server that refuses every request with 403 plays the forbidding cluster.
  const forbidding = createServer((_req, res) =>
    res.writeHead(403, { "Content-Type": "application/json" }).end('{"kind":"Status","status":"Failure","reason":"Forbidden","code":403}'),
  );
  await new Promise<void>((resolve) => forbidding.listen(0, "127.0.0.1", resolve));
  try {
    const config = new KubeConfig();
    const server = `http://127.0.0.1:${(forbidding.address() as { port: number }).port}`;
    config.loadFromOptions({
      clusters: [{ name: "rbac", server, skipTLSVerify: true }],
      users: [{ name: "rbac", token: "x" }],
      contexts: [{ name: "rbac", cluster: "rbac", user: "rbac" }],
      currentContext: "rbac",
    });
    const failure = execInPod(connectKube("rbac", config), web, ["true"]);
    await expect(failure).rejects.toThrow("The cluster (context rbac) does not allow running commands in pod default/web (HTTP 403).");
    await expect(failure).rejects.toHaveProperty(
      "hint",
      "Commands in pods need the 'create' permission on 'pods/exec' in namespace default; check with 'kubectl auth can-i create pods/exec -n default'.",
    );
  } finally {
    forbidding.close();
  }
});

describe("execInPod on Kubernetes 1.29 (v4: stdin cannot be closed)", () => {
  test("readingExactly makes a tar stream end: extracted, sha256sum matches, the exit code arrives", async () => {
    const archive = tarOf(files);
    const command = readingExactly(archive.length, ["sh", "-c", "mkdir -p app && tar -xf - -C app && echo extracted"]);
    const extracted = await execInPod(kube4, web, command, { stdin: archive });
    expect(extracted).toEqual({ exitCode: 0, stdout: "extracted\n", stderr: "" });
    const sums = await execInPod(kube4, web, ["sh", "-c", "cd app && sha256sum model.py weights.bin"]);
    expect(sums.stdout).toBe(expectedSums(files));
  });

  test("a command waiting for the end of stdin times out, and the error says why", async () => {
    const failure = execInPod(kube4, web, ["cat"], { stdin: Buffer.from("never ends"), timeoutMs: 500 });
    await expect(failure).rejects.toMatchObject({ kind: "cluster", message: "The command in pod default/web did not finish within 0.5 s." });
    await expect(failure).rejects.toHaveProperty(
      "hint",
      expect.stringContaining("v4.channel.k8s.io (Kubernetes before 1.30), which cannot end the command's input"),
    );
  });
});
