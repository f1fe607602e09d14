/**
 * Test support for the control plane: a throwaway CA, server certificate and client certificates
 * (made with the openssl CLI, as a cluster's PKI would be), a running control plane on fake node runtimes, and
 * clients of the real @kubernetes/client-node pointed at it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { FakeRuntime } from "./fake-runtime.js";
import { startControlPlane, type ControlPlaneTuning } from "./index.js";
import type { RunningControlPlane } from "../contract.js";

export interface TestPki {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  /** kind's admin user: CN kubernetes-admin, O kubeadm:cluster-admins. */
  admin: ClientCert;
}

export interface ClientCert {
  cert: string;
  key: string;
}

let pki: TestPki | undefined;

/** A client certificate the test CA signs: the user is CN, the groups O (one per entry). */
export function clientCert(user: string, groups: string[] = []): ClientCert {
  const { ca, caKey } = testPki();
  const dir = mkdtempSync(join(tmpdir(), "mlkube-sim-user-"));
  try {
    const run = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    writeFileSync(join(dir, "ca.crt"), ca);
    writeFileSync(join(dir, "ca.key"), caKey);
    writeFileSync(join(dir, "ext.cnf"), "extendedKeyUsage=clientAuth\n");
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "user.key", "-out", "user.csr", "-subj", `/CN=${user}${groups.map((g) => `/O=${g}`).join("")}`]);
    run(["x509", "-req", "-in", "user.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "user.crt", "-days", "2", "-extfile", "ext.cnf"]);
    return { cert: readFileSync(join(dir, "user.crt"), "utf8"), key: readFileSync(join(dir, "user.key"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A CA, a server certificate for 127.0.0.1 and the admin's client certificate, made once per test process. */
export function testPki(): TestPki {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), "mlkube-sim-pki-"));
  try {
    const run = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=kubernetes"]);
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"]);
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    run([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]);
    const server = {
      ca: readFileSync(join(dir, "ca.crt"), "utf8"),
      caKey: readFileSync(join(dir, "ca.key"), "utf8"),
      cert: readFileSync(join(dir, "server.crt"), "utf8"),
      key: readFileSync(join(dir, "server.key"), "utf8"),
    };
    pki = { ...server, admin: { cert: "", key: "" } };
    pki.admin = clientCert("kubernetes-admin", ["kubeadm:cluster-admins"]);
    return pki;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestCluster {
  cp: RunningControlPlane;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
  runtimes: FakeRuntime[];
  close(): Promise<void>;
}

const base64 = (text: string): string => Buffer.from(text).toString("base64");

/** A kubeconfig for the user of `client` (default: the admin). */
export function kubeConfigFor(url: string, ca: string, client: ClientCert = testPki().admin): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "kind-sim", server: url, caData: base64(ca), skipTLSVerify: false }],
    users: [{ name: "kind-sim", certData: base64(client.cert), keyData: base64(client.key) }],
    contexts: [{ name: "kind-sim", cluster: "kind-sim", user: "kind-sim" }],
    currentContext: "kind-sim",
  });
  return kc;
}

export async function startTestCluster(options: { runtimes?: FakeRuntime[]; tuning?: ControlPlaneTuning } = {}): Promise<TestCluster> {
  const { ca, cert, key } = testPki();
  const runtimes = options.runtimes ?? [new FakeRuntime({ name: "sim-control-plane" }, { images: ["model:v1", "model:v2"] })];
  const stateDir = mkdtempSync(join(tmpdir(), "mlkube-sim-cp-"));
  const cp = await startControlPlane({
    clusterName: "sim",
    port: 0,
    tls: { cert, key, clientCA: ca },
    runtimes,
    stateDir,
    tuning: {
      ...options.tuning,
      timing: {
        crashBackoffBaseMs: 200,
        crashBackoffMaxMs: 1000,
        imageBackoffBaseMs: 200,
        imageBackoffMaxMs: 1000,
        schedulerRetryMs: 500,
        nodeReadyAfterMs: 0,
        ...options.tuning?.timing,
      },
    },
  });
  const kc = kubeConfigFor(cp.url, ca);
  return {
    cp,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    runtimes,
    close: async () => {
      await cp.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails with the last one seen. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The body of a failed client-node call, parsed (ApiException keeps it as a string or object). */
export function statusOf(err: unknown): {
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: { field?: string; reason?: string; message?: string }[] };
} {
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as ReturnType<typeof statusOf>;
    } catch {
      return { message: body };
    }
  }
  return (body ?? {}) as ReturnType<typeof statusOf>;
}
