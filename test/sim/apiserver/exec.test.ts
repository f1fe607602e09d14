/**
 * Conformance of pods/NAME/exec, checked through the real @kubernetes/client-node 1.4 `Exec`
 * (WebSocket; it offers v5, v4, v3, v2 and channel.k8s.io). One cluster plays Kubernetes 1.30+
 * (the apiserver's stream translator serves v5), one plays 1.29 (the kubelet serves v4). The fake
 * runtime runs exec'd commands as real processes in a scratch directory per container.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { Exec, type V1Status } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type WebSocket from "ws";
import { FakeRuntime } from "./fake-runtime.js";
import { eventually, startTestCluster, type TestCluster } from "./testing.js";

let v5: TestCluster;
let v4: TestCluster;

function runtime(): FakeRuntime {
  const fake = new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1"] });
  // "done" runs once and exits 0; every other container runs until stopped.
  fake.script = (spec) => (spec.podName === "done" ? { exitAfterMs: 10, exitCode: 0 } : {});
  return fake;
}

async function createPods(c: TestCluster): Promise<void> {
  const pod = (name: string, containers: string[], extra: Record<string, unknown> = {}) =>
    c.core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name }, spec: { containers: containers.map((n) => ({ name: n, image: "model:v1" })), ...extra } },
    });
  await pod("web", ["model"]);
  await pod("two", ["model", "sidecar"]);
  await pod("done", ["model"], { restartPolicy: "Never" });
  await pod("unscheduled", ["model"], { nodeSelector: { nowhere: "true" } });
  await eventually(
    async () => (await c.core.readNamespacedPod({ namespace: "default", name: "web" })).status?.containerStatuses?.[0]?.state?.running,
    10_000,
    "web running",
  );
  await eventually(
    async () => (await c.core.readNamespacedPod({ namespace: "default", name: "two" })).status?.containerStatuses?.every((s) => s.state?.running),
    10_000,
    "two running",
  );
  await eventually(async () => (await c.core.readNamespacedPod({ namespace: "default", name: "done" })).status?.phase === "Succeeded", 10_000, "done finished");
}

beforeAll(async () => {
  v5 = await startTestCluster({ runtimes: [runtime()] });
  v4 = await startTestCluster({ runtimes: [runtime()], tuning: { streamCloseWebsocket: false } });
  await Promise.all([createPods(v5), createPods(v4)]);
});
afterAll(async () => {
  await v5?.close();
  await v4?.close();
});

interface Outcome {
  protocol: string;
  stdout: string;
  stderr: string;
  status: V1Status | undefined;
}

/** Runs a command through client-node's Exec and waits for the WebSocket to close. */
async function run(c: TestCluster, command: string[], options: { pod?: string; container?: string; stdin?: Readable } = {}): Promise<Outcome> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  let status: V1Status | undefined;
  const ws = (await new Exec(c.kc).exec(
    "default",
    options.pod ?? "web",
    options.container ?? "model",
    command,
    stdout,
    stderr,
    options.stdin ?? null,
    false,
    (s) => (status = s),
  )) as WebSocket;
  await new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.on("close", () => resolve())));
  return { protocol: ws.protocol, stdout: out, stderr: err, status };
}

/** A tar archive of the given files, made by the real tar. */
function tarOf(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "mlkube-exec-tar-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return execFileSync("tar", ["-cf", "-", "-C", dir, ...Object.keys(files)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("pods/exec, Kubernetes 1.30+ (v5 through the apiserver's stream translator)", () => {
  test("client-node negotiates v5; stdout and stderr arrive on their own channels; exit 0 is a Success status", async () => {
    const result = await run(v5, ["sh", "-c", "echo out; echo err >&2; echo more"]);
    expect(result).toEqual({ protocol: "v5.channel.k8s.io", stdout: "out\nmore\n", stderr: "err\n", status: { metadata: {}, status: "Success" } });
  });

  test("a non-zero exit is a NonZeroExitCode Failure with the code as the ExitCode cause", async () => {
    const result = await run(v5, ["sh", "-c", "echo partial; exit 3"]);
    expect(result.stdout).toBe("partial\n");
    expect(result.status).toEqual({
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: command terminated with exit code 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
  });

  test("stdin is streamed and its end closes the process's stdin (CLOSE signal), so cat ends and reports", async () => {
    const result = await run(v5, ["cat"], { stdin: Readable.from([Buffer.from("hello "), Buffer.from("world")]) });
    expect(result.stdout).toBe("hello world");
    expect(result.status?.status).toBe("Success");
  });

  test("a tar stream is extracted by tar -x in the container", async () => {
    const archive = tarOf({ "model.py": "print('v2')\n", "weights.bin": "0123456789".repeat(10_000) });
    const extract = await run(v5, ["tar", "-xf", "-"], { stdin: Readable.from([archive]) });
    expect(extract.status?.status).toBe("Success");
    const check = await run(v5, ["sh", "-c", "cat model.py; wc -c < weights.bin"]);
    expect(check.stdout).toBe("print('v2')\n100000\n");
  });

  test("a container the pod does not have is refused before the upgrade (400, the apiserver's message)", async () => {
    await expect(run(v5, ["true"], { container: "nope" })).rejects.toThrow(/400/);
    const answer = await plainUpgrade(v5, "/api/v1/namespaces/default/pods/web/exec?command=true&container=nope&stdout=true");
    expect(answer).toMatchObject({ status: 400, body: { kind: "Status", reason: "BadRequest", message: "container nope is not valid for pod web" } });
  });

  test("no container named in a pod with two is refused with the choices", async () => {
    const answer = await plainUpgrade(v5, "/api/v1/namespaces/default/pods/two/exec?command=true&stdout=true");
    expect(answer).toMatchObject({ status: 400, body: { message: "a container name must be specified for pod two, choose one of: [model sidecar]" } });
    expect((await run(v5, ["echo", "side"], { pod: "two", container: "sidecar" })).stdout).toBe("side\n");
  });

  test("a pod whose container is not running: the upgrade succeeds, then the kubelet's refusal comes as an InternalError status", async () => {
    const result = await run(v5, ["true"], { pod: "done" });
    expect(result.status).toEqual({
      metadata: {},
      status: "Failure",
      message: 'Internal error occurred: unable to upgrade connection: container not found ("model")',
      reason: "InternalError",
      details: { causes: [{ message: 'unable to upgrade connection: container not found ("model")' }] },
      code: 500,
    });
  });

  test("an unscheduled pod is refused: it has no host", async () => {
    const answer = await plainUpgrade(v5, "/api/v1/namespaces/default/pods/unscheduled/exec?command=true&stdout=true");
    expect(answer).toMatchObject({ status: 400, body: { message: "pod unscheduled does not have a host assigned" } });
  });

  test("a missing pod is a 404", async () => {
    await expect(run(v5, ["true"], { pod: "missing" })).rejects.toThrow(/404/);
  });

  test("no command: the runtime cannot start it, an InternalError status", async () => {
    const result = await run(v5, []);
    expect(result.status).toMatchObject({ status: "Failure", reason: "InternalError", code: 500 });
    expect(result.status?.message).toMatch(/^Internal error occurred: Internal error occurred: error executing command in container: /);
  });

  test("an executable the container does not have: the runtime's failure as an InternalError status, wrapped twice", async () => {
    const result = await run(v5, ["no-such-tool"]);
    expect(result.status).toMatchObject({ status: "Failure", reason: "InternalError", code: 500 });
    expect(result.status?.message).toMatch(
      /^Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "\d+": OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-tool": executable file not found in \$PATH: unknown$/,
    );
  });

  test("a plain request without the upgrade is a 400, and discovery lists pods/exec", async () => {
    const answer = await plainRequest(v5, "/api/v1/namespaces/default/pods/web/exec?command=true");
    expect(answer).toMatchObject({ status: 400, body: { kind: "Status", code: 400, reason: "BadRequest", message: "Upgrade request required" } });
    expect((await v5.core.getAPIResources()).resources.map((r) => r.name)).toContain("pods/exec");
  });
});

describe("pods/exec, Kubernetes 1.29 (no translator: the kubelet serves v4)", () => {
  test("client-node falls back to v4; output and a non-zero exit arrive as the kubelet words them", async () => {
    const result = await run(v4, ["sh", "-c", "echo out; echo err >&2; exit 4"]);
    expect(result.protocol).toBe("v4.channel.k8s.io");
    expect(result.stdout).toBe("out\n");
    expect(result.stderr).toBe("err\n");
    expect(result.status).toEqual({
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 4], exit code 4",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "4" }] },
    });
  });

  test("v4 cannot end stdin: the client's end of stdin closes the WebSocket and the status never comes", async () => {
    const result = await run(v4, ["cat"], { stdin: Readable.from([Buffer.from("lost")]) });
    expect(result.status).toBeUndefined();
  });

  test("a command that reads a known byte count works without an end of stdin", async () => {
    const stdin = new PassThrough(); // never ended: v4 would close the session
    stdin.write("hello");
    const result = await run(v4, ["sh", "-c", "head -c 5 | wc -c"], { stdin });
    expect(result.stdout.trim()).toBe("5");
    expect(result.status?.status).toBe("Success");
  });

  test("a pod whose container is not running: the kubelet refuses the upgrade (500, its text)", async () => {
    await expect(run(v4, ["true"], { pod: "done" })).rejects.toThrow(/500/);
    const answer = await plainUpgrade(v4, "/api/v1/namespaces/default/pods/done/exec?command=true&stdout=true", "v4.channel.k8s.io");
    expect(answer).toEqual({ status: 500, body: 'container not found ("model")' });
  });

  test("an executable the container does not have: the kubelet's InternalError status", async () => {
    const result = await run(v4, ["no-such-tool"]);
    expect(result.status).toMatchObject({
      status: "Failure",
      reason: "InternalError",
      code: 500,
      details: { causes: [{ message: expect.stringMatching(/^error executing command in container: failed to exec in container: /) }] },
    });
    expect(result.status?.message).toMatch(
      /^Internal error occurred: error executing command in container: failed to exec in container: .*executable file not found in \$PATH: unknown$/,
    );
  });

  test("no stream requested: the kubelet's 400", async () => {
    const answer = await plainUpgrade(v4, "/api/v1/namespaces/default/pods/web/exec?command=true", "v4.channel.k8s.io");
    expect(answer).toEqual({ status: 400, body: "you must specify at least 1 of stdin, stdout, stderr" });
  });
});

/** A WebSocket upgrade request whose refusal is read as the client gets it (status and body). */
async function plainUpgrade(c: TestCluster, path: string, protocol = "v5.channel.k8s.io,v4.channel.k8s.io"): Promise<{ status: number; body: unknown }> {
  return plainRequest(c, path, {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Protocol": protocol,
  });
}

async function plainRequest(c: TestCluster, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const https = await import("node:https");
  const opts: import("node:https").RequestOptions = { headers };
  await c.kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.get(`${c.cp.url}${path}`, opts, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // the kubelet's refusals are plain text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("upgrade", () => reject(new Error(`${path} was upgraded`)));
    req.on("error", reject);
  });
}
