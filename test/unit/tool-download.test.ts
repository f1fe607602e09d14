// The checksum-verified install `mlkube doctor --fix` uses for kind, against a local file server
// (this machine cannot reach GitHub): a matching file is installed executable, anything else leaves
// nothing behind.
import { createHash } from "node:crypto";
import { access, constants, readdir, readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_REGISTRY } from "../../src/adapters/cluster/local-registry.js";
import { applyFixes } from "../../src/adapters/doctor/fixes.js";
import { checkTools } from "../../src/adapters/doctor/tools.js";
import { runCommand } from "../../src/adapters/exec.js";
import { installVerified } from "../../src/adapters/tools/download.js";
import { KIND_VERSION, kindDownload, mlkubeBinDir } from "../../src/adapters/tools/kind-release.js";
import { startRecordingProxy, type RecordingProxy } from "../support/recording-proxy.js";

const binary = Buffer.from("#!/bin/sh\necho 'kind v0.30.0 (test stand-in)'\n");
const sha256 = createHash("sha256").update(binary).digest("hex");
let server: Server;
let base: string;
let binDir: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === "/kind") return response.end(binary);
    if (request.url === "/redirect") return response.writeHead(302, { location: "/kind" }).end();
    if (request.url === "/big") return response.end(Buffer.alloc(2048));
    response.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  binDir = await mkdtemp(join(tmpdir(), "mlkube-bin-"));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(binDir, { recursive: true, force: true });
});

describe("installVerified", () => {
  it("installs a file whose checksum matches the pin, executable, following redirects", async () => {
    const destination = join(binDir, "kind");
    await installVerified({ url: `${base}/redirect`, sha256 }, destination);
    expect(await readFile(destination)).toEqual(binary);
    await expect(access(destination, constants.X_OK)).resolves.toBeUndefined();
    expect(await readdir(binDir)).toEqual(["kind"]);
  });

  it("refuses a file whose checksum differs and leaves nothing behind, not even over an old binary", async () => {
    const destination = join(binDir, "kind-mismatch");
    await writeFile(destination, "previous version");
    const wrong = "0".repeat(64);
    await expect(installVerified({ url: `${base}/kind`, sha256: wrong }, destination)).rejects.toThrow(
      `${base}/kind does not match its pinned checksum (expected sha256 ${wrong}, got ${sha256}); it was deleted and nothing was installed.`,
    );
    expect(await readFile(destination, "utf8")).toBe("previous version");
    expect((await readdir(binDir)).filter((name) => name.includes("partial"))).toEqual([]);
  });

  it("reports an HTTP error and a server that sends too much", async () => {
    await expect(installVerified({ url: `${base}/missing`, sha256 }, join(binDir, "kind-404"))).rejects.toThrow(
      `Downloading ${base}/missing failed: HTTP 404.`,
    );
    await expect(installVerified({ url: `${base}/big`, sha256 }, join(binDir, "kind-big"), { maxBytes: 1024 })).rejects.toThrow("sent more than 1024 bytes");
    expect((await readdir(binDir)).sort()).toEqual(["kind", "kind-mismatch"]);
  });
});

describe("installVerified through a proxy, as curl would", () => {
  const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
  let proxy: RecordingProxy;
  beforeEach(async () => {
    proxy = await startRecordingProxy();
    // Only what each test sets: none of the developer's own proxy settings.
    for (const name of PROXY_VARIABLES) vi.stubEnv(name, undefined);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await proxy.close();
  });

  it("HTTP_PROXY: a plain-http download is an absolute-URI GET to the proxy, and is installed verified", async () => {
    vi.stubEnv("HTTP_PROXY", proxy.url);
    const destination = join(binDir, "kind-via-proxy");
    await installVerified({ url: `${base}/kind`, sha256 }, destination);
    expect(proxy.requests).toEqual([`GET ${base}/kind`]);
    expect(await readFile(destination)).toEqual(binary);
    await expect(access(destination, constants.X_OK)).resolves.toBeUndefined();
  });

  it("HTTPS_PROXY: an https download is a CONNECT to the proxy; refused, the error names the proxy and nothing is installed", async () => {
    const withPassword = proxy.url.replace("//", "//dev:s3cret@");
    vi.stubEnv("https_proxy", withPassword);
    const destination = join(binDir, "kind-refused");
    const failure = installVerified({ url: "https://kind.example.test/kind", sha256 }, destination);
    await expect(failure).rejects.toMatchObject({
      kind: "download",
      message: "Downloading https://kind.example.test/kind failed: Proxy response (403) !== 200 when HTTP Tunneling.",
      hint: `Check the network and the proxy (in effect: https_proxy=${proxy.url.replace("//", "//dev:***@")}/), then try again, or run 'mlkube doctor --fix'.`,
    });
    expect(proxy.requests).toEqual(["CONNECT kind.example.test:443"]);
    expect(proxy.authorizations).toEqual([`Basic ${Buffer.from("dev:s3cret").toString("base64")}`]);
    expect((await readdir(binDir)).filter((name) => name.startsWith("kind-refused"))).toEqual([]);
  });

  it("NO_PROXY naming the host: the download goes direct", async () => {
    vi.stubEnv("http_proxy", proxy.url);
    vi.stubEnv("no_proxy", "localhost,127.0.0.1");
    const destination = join(binDir, "kind-direct");
    await installVerified({ url: `${base}/kind`, sha256 }, destination);
    expect(proxy.requests).toEqual([]);
    expect(await readFile(destination)).toEqual(binary);
  });
});

describe("the pinned kind release", () => {
  it.each([
    [
      "linux",
      "x64",
      `https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-linux-amd64`,
      "517ab7fc89ddeed5fa65abf71530d90648d9638ef0c4cde22c2c11f8097b8889",
    ],
    [
      "linux",
      "arm64",
      `https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-linux-arm64`,
      "7ea2de9d2d190022ed4a8a4e3ac0636c8a455e460b9a13ccf19f15d07f4f00eb",
    ],
    [
      "darwin",
      "arm64",
      `https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-darwin-arm64`,
      "ceaf40df1d1551c481fb50e3deb5c3deecad5fd599df5469626b70ddf52a1518",
    ],
  ] as const)("%s/%s", (platform, arch, url, pinned) => {
    expect(kindDownload(platform, arch)).toEqual({ url, sha256: pinned });
  });

  it("pins nothing for other platforms, and caches under ~/.mlkube/bin", () => {
    expect(kindDownload("win32", "x64")).toBeUndefined();
    expect(mlkubeBinDir("/home/dev")).toBe("/home/dev/.mlkube/bin");
  });
});

describe("doctor --fix installing kind", () => {
  const deps = (binDir: string, sha: string) => ({
    env: { PATH: "" },
    platform: "linux" as const,
    exec: runCommand,
    cwd: binDir,
    binDir,
    registry: DEFAULT_REGISTRY,
    settings: undefined,
    kindRelease: { url: `${base}/kind`, sha256: sha },
  });
  const kindCheck = [{ name: "kind", status: "warn" as const, detail: "not installed", autoFix: "install-kind" as const }];

  it("installs the verified binary into mlkube's cache, where the kind check then finds it", async () => {
    const cache = join(binDir, "fix-cache");
    expect(await applyFixes(kindCheck, deps(cache, sha256))).toEqual([
      { check: "kind", ok: true, message: `installed kind ${KIND_VERSION} at ${join(cache, "kind")} (sha256 verified)` },
    ]);
    const { checks } = await checkTools({ env: { PATH: "" }, exec: runCommand, binDir: cache });
    expect(checks[0]).toMatchObject({
      name: "kind",
      status: "ok",
      detail: expect.stringContaining(`installed by mlkube at ${join(cache, "kind")} (mlkube uses it from there`),
    });
  });

  it("reports a checksum mismatch as a failed fix and installs nothing", async () => {
    const cache = join(binDir, "fix-cache-mismatch");
    const [outcome] = await applyFixes(kindCheck, deps(cache, "f".repeat(64)));
    expect(outcome).toMatchObject({ check: "kind", ok: false, message: expect.stringContaining("does not match its pinned checksum") });
    expect(await readdir(cache)).toEqual([]);
  });
});
