// `mlkube logs --grep --pod`, run as a user runs the built CLI, against a small stand-in for the API
// server's node list, pod list and pod log endpoints (the filters are mlkube's, so the cluster only
// has to serve lines).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/engine.js";

const CLI = join(REPO_ROOT, "dist", "cli.js");
const CONTEXT = "fake-cluster";

/** Each pod's containers and their lines. */
const PODS: Record<string, Record<string, string[]>> = {
  "iris-7d9f8c6b5-x2k4q": {
    model: ['127.0.0.1 - - [05/Dec/2026 12:00:01] "GET /healthz HTTP/1.1" 200 -', "ERROR predict failed: expected 4 features", "POST /predict 200"],
    proxy: ["proxy ready", "upstream error 502"],
  },
  "iris-7d9f8c6b5-pp9sd": { model: ["POST /predict 503", "INFO loaded model.pkl"] },
};

function pod(name: string) {
  const containers = Object.keys(PODS[name] ?? {});
  return {
    metadata: { name, namespace: "default", resourceVersion: "5", labels: {} },
    spec: { containers: containers.map((container) => ({ name: container, image: "iris:1" })) },
    status: {
      phase: "Running",
      containerStatuses: containers.map((container) => ({
        name: container,
        ready: true,
        restartCount: 0,
        image: "iris:1",
        imageID: "",
        state: { running: { startedAt: "2026-12-05T12:00:00Z" } },
      })),
    },
  };
}

let server: Server;
let work: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const json = (body: unknown) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    const log = /^\/api\/v1\/namespaces\/default\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (url.pathname === "/api/v1/nodes") return json({ kind: "NodeList", apiVersion: "v1", metadata: {}, items: [{ metadata: { name: "node-1" } }] });
    if (url.pathname === "/api/v1/namespaces/default/pods")
      return json({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "5" }, items: Object.keys(PODS).map(pod) });
    if (log) {
      const lines = PODS[log[1] ?? ""]?.[url.searchParams.get("container") ?? ""] ?? [];
      response.writeHead(200, { "content-type": "text/plain" });
      return response.end(lines.map((text, index) => `2026-12-05T12:00:0${index}.000000000Z ${text}\n`).join(""));
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  work = await mkdtemp(join(tmpdir(), "mlkube-logs-cli-"));
  await mkdir(join(work, "model"));
  await writeFile(join(work, "model", "mlkube.yaml"), "name: iris\nimage: { repository: iris }\n");
  await writeFile(join(work, "model", "Dockerfile"), "FROM scratch\nEXPOSE 5000\n");
  await writeFile(
    join(work, "kubeconfig"),
    `apiVersion: v1
kind: Config
current-context: ${CONTEXT}
clusters: [{ name: ${CONTEXT}, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
contexts: [{ name: ${CONTEXT}, context: { cluster: ${CONTEXT}, user: ${CONTEXT} } }]
users: [{ name: ${CONTEXT}, user: { token: not-a-secret } }]
`,
  );
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (work) await rm(work, { recursive: true, force: true });
});

function mlkubeLogs(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "logs", "model", "--provider", "context", "--context", CONTEXT, ...args], {
      cwd: work,
      env: { PATH: dirname(process.execPath), HOME: work, KUBECONFIG: join(work, "kubeconfig") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The printed log lines, sorted: containers are read in parallel. */
const lines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line.includes(" | "))
    .sort();

describe("mlkube logs filters", () => {
  it("prints every container's lines without filters", async () => {
    const result = await mlkubeLogs();
    expect(result.stderr).toBe("");
    expect(lines(result.stdout)).toHaveLength(7);
  });

  it("--grep keeps the lines containing the text, in any case", async () => {
    const result = await mlkubeLogs("--grep", "Predict");
    expect(lines(result.stdout)).toEqual([
      "iris-7d9f8c6b5-pp9sd/model | POST /predict 503",
      "iris-7d9f8c6b5-x2k4q/model | ERROR predict failed: expected 4 features",
      "iris-7d9f8c6b5-x2k4q/model | POST /predict 200",
    ]);
  });

  it("--grep re: takes a regular expression", async () => {
    const result = await mlkubeLogs("--grep", "re:\\b5\\d\\d$");
    expect(lines(result.stdout)).toEqual(["iris-7d9f8c6b5-pp9sd/model | POST /predict 503", "iris-7d9f8c6b5-x2k4q/proxy | upstream error 502"]);
  });

  it("--pod takes part of a pod's name, and /CONTAINER one of its containers", async () => {
    expect(lines((await mlkubeLogs("--pod", "x2k4q")).stdout)).toHaveLength(5);
    expect(lines((await mlkubeLogs("--pod", "x2k4q/proxy", "--grep", "error")).stdout)).toEqual(["iris-7d9f8c6b5-x2k4q/proxy | upstream error 502"]);
  });

  it("an invalid regular expression or a pod that does not exist is a usage error that says which", async () => {
    const invalid = await mlkubeLogs("--grep", "re:(predict");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toBe(
      "error: --grep re:(predict: invalid regular expression “(predict”: Unterminated group.\nfix: Fix the expression, or drop the re: prefix to search for the text as written.\n",
    );
    const noPod = await mlkubeLogs("--pod", "zzz");
    expect(noPod.code).toBe(1);
    expect(noPod.stderr).toBe("error: --pod zzz: no pod of iris has 'zzz' in its name.\nfix: Its pods: iris-7d9f8c6b5-x2k4q, iris-7d9f8c6b5-pp9sd.\n");
  });
});
