/**
 * Which Docker engine mlkube uses: the one the user's `docker` uses (DOCKER_HOST, DOCKER_CONTEXT,
 * the config file's currentContext and the context store, the platform default), with TLS, laid
 * out in a temporary HOME exactly as docker/cli writes it (contexts/meta/<sha256 of the name>/meta.json,
 * contexts/tls/<sha256>/docker/*.pem). The integration suite checks the same layout as written by
 * the real `docker context create`.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KindProvider } from "../../src/adapters/cluster/kind.js";
import { selectProvider } from "../../src/adapters/cluster/select.js";
import { connectDocker, ensureDockerReachable } from "../../src/adapters/docker/client.js";
import { describeEndpoint, engineEnvForTools, resolveDockerEndpoint } from "../../src/adapters/docker/endpoint.js";
import { checkDocker } from "../../src/adapters/doctor/engine.js";
import type { Exec } from "../../src/adapters/exec.js";
import { configSchema } from "../../src/config/schema.js";
import { isUserError, type UserError } from "../../src/errors.js";

let root: string;
let home: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlkube-endpoint-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  home = join(root, `home-${n++}`);
  await mkdir(join(home, ".docker"), { recursive: true });
});

const contextId = (name: string) => createHash("sha256").update(name).digest("hex");

/** A context as `docker context create NAME --docker host=HOST[,skip-tls-verify=true]` stores it. */
async function storeContext(
  configDir: string,
  name: string,
  host: string,
  options: { skipTlsVerify?: boolean; tls?: Record<string, string> } = {},
): Promise<void> {
  const dir = join(configDir, "contexts", "meta", contextId(name));
  await mkdir(dir, { recursive: true });
  const meta = {
    Name: name,
    Metadata: { Description: `${name} engine` },
    Endpoints: { docker: { Host: host, SkipTLSVerify: options.skipTlsVerify ?? false } },
  };
  await writeFile(join(dir, "meta.json"), JSON.stringify(meta));
  if (options.tls) {
    const tlsDir = join(configDir, "contexts", "tls", contextId(name), "docker");
    await mkdir(tlsDir, { recursive: true });
    for (const [file, content] of Object.entries(options.tls)) await writeFile(join(tlsDir, file), content);
  }
}

async function useContext(configDir: string, name: string): Promise<void> {
  await writeFile(join(configDir, "config.json"), JSON.stringify({ auths: {}, currentContext: name }));
}

function thrown(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    if (isUserError(error)) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}

describe("resolving the engine as the docker CLI does", () => {
  it("uses the context the config file names, from the context store", async () => {
    await storeContext(join(home, ".docker"), "colima", "unix:///home/u/.colima/default/docker.sock");
    await useContext(join(home, ".docker"), "colima");
    const endpoint = resolveDockerEndpoint({ HOME: home }, { platform: "darwin" });
    expect(endpoint).toMatchObject({ host: "unix:///home/u/.colima/default/docker.sock", context: "colima", source: "config", tls: undefined });
    expect(describeEndpoint(endpoint, home)).toBe(
      "unix:///home/u/.colima/default/docker.sock from docker context 'colima' (~/.docker/config.json currentContext)",
    );
  });

  it("DOCKER_CONTEXT overrides the config file", async () => {
    await storeContext(join(home, ".docker"), "colima", "unix:///home/u/.colima/default/docker.sock");
    await storeContext(join(home, ".docker"), "rootless", "unix:///run/user/1000/docker.sock");
    await useContext(join(home, ".docker"), "colima");
    const endpoint = resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "rootless" });
    expect(endpoint).toMatchObject({ host: "unix:///run/user/1000/docker.sock", context: "rootless", source: "DOCKER_CONTEXT" });
    expect(describeEndpoint(endpoint, home)).toBe("unix:///run/user/1000/docker.sock from docker context 'rootless' (DOCKER_CONTEXT)");
  });

  it("DOCKER_HOST overrides both, as the default context", async () => {
    await storeContext(join(home, ".docker"), "colima", "unix:///home/u/.colima/default/docker.sock");
    await useContext(join(home, ".docker"), "colima");
    const endpoint = resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "colima", DOCKER_HOST: "tcp://192.168.49.2:2375" });
    expect(endpoint).toMatchObject({ host: "tcp://192.168.49.2:2375", context: "default", source: "DOCKER_HOST", tls: undefined });
    expect(describeEndpoint(endpoint, home)).toBe("tcp://192.168.49.2:2375 from DOCKER_HOST");
  });

  it("reads the config and the store under DOCKER_CONFIG when it is set", async () => {
    const configDir = join(home, "elsewhere");
    await storeContext(configDir, "desktop-linux", "unix:///home/u/.docker/desktop/docker.sock");
    await useContext(configDir, "desktop-linux");
    await useContext(join(home, ".docker"), "ignored");
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_CONFIG: configDir })).toMatchObject({
      host: "unix:///home/u/.docker/desktop/docker.sock",
      context: "desktop-linux",
      configFile: join(configDir, "config.json"),
    });
  });

  it("falls back to the platform default with no DOCKER_HOST, DOCKER_CONTEXT or currentContext", async () => {
    await writeFile(join(home, ".docker", "config.json"), JSON.stringify({ auths: {} }));
    const linux = resolveDockerEndpoint({ HOME: home }, { platform: "linux" });
    expect(linux).toMatchObject({ host: "unix:///var/run/docker.sock", context: "default", source: "default", tls: undefined });
    expect(describeEndpoint(linux, home)).toBe("unix:///var/run/docker.sock, the default (no DOCKER_HOST, DOCKER_CONTEXT or current docker context)");
    expect(resolveDockerEndpoint({ HOME: home }, { platform: "win32" }).host).toBe("npipe:////./pipe/docker_engine");
  });

  it("treats the context named 'default' as DOCKER_HOST or the platform default", async () => {
    await useContext(join(home, ".docker"), "default");
    expect(resolveDockerEndpoint({ HOME: home }, { platform: "linux" })).toMatchObject({
      host: "unix:///var/run/docker.sock",
      context: "default",
      source: "config",
    });
  });

  it("goes on with the default when the config file is not JSON, as docker does, and says so", async () => {
    await writeFile(join(home, ".docker", "config.json"), "{ currentContext: colima");
    const endpoint = resolveDockerEndpoint({ HOME: home }, { platform: "linux" });
    expect(endpoint).toMatchObject({ host: "unix:///var/run/docker.sock", source: "default" });
    expect(describeEndpoint(endpoint, home)).toMatch(
      /, the default \(no DOCKER_HOST, DOCKER_CONTEXT or current docker context; .*config\.json is not valid JSON .*docker ignores it too\)$/,
    );
  });

  it("writes DOCKER_HOST in docker's canonical form", () => {
    const host = (value: string) => resolveDockerEndpoint({ HOME: home, DOCKER_HOST: value }).host;
    expect(host("tcp://10.0.0.5")).toBe("tcp://10.0.0.5:2375");
    expect(host("10.0.0.5:2376")).toBe("tcp://10.0.0.5:2376");
    expect(host("unix://")).toBe("unix:///var/run/docker.sock");
    expect(host("ssh://me@build-box")).toBe("ssh://me@build-box");
    expect(thrown(() => host("http://10.0.0.5")).message).toBe("DOCKER_HOST=http://10.0.0.5 is not a valid address (unknown scheme http://).");
  });
});

describe("a docker context that cannot be used", () => {
  it("names the context, where it was chosen, and 'docker context ls', when it does not exist", async () => {
    await useContext(join(home, ".docker"), "colima");
    const error = thrown(() => resolveDockerEndpoint({ HOME: home }));
    expect(error.kind).toBe("docker-unavailable");
    expect(error.message).toMatch(
      new RegExp(
        `^The docker context 'colima' \\(currentContext in ${join(home, ".docker", "config.json")}\\) does not exist: .*/contexts/meta/${contextId("colima")}/meta\\.json cannot be read\\.$`,
      ),
    );
    expect(error.hint).toBe("'docker context ls' lists the contexts there are; choose one with 'docker context use NAME'.");
  });

  it("says to unset DOCKER_CONTEXT when that named it", () => {
    const error = thrown(() => resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "nope" }));
    expect(error.message).toMatch(/^The docker context 'nope' \(DOCKER_CONTEXT=nope\) does not exist/);
    expect(error.hint).toBe("'docker context ls' lists the contexts there are; unset DOCKER_CONTEXT or set it to one of them.");
  });

  it("doctor reports it as the engine check's failure, not a crash", async () => {
    const { check, engine } = await checkDocker({ HOME: home, DOCKER_CONTEXT: "nope" }, "linux");
    expect(engine).toBeUndefined();
    expect(check).toMatchObject({
      name: "docker",
      status: "fail",
      detail: expect.stringMatching(/^The docker context 'nope'/),
      fix: expect.stringContaining("docker context ls"),
    });
  });
});

describe("TLS", () => {
  it("DOCKER_TLS_VERIFY with DOCKER_CERT_PATH: verified TLS with the files there", async () => {
    const certs = join(home, "certs");
    await mkdir(certs);
    await Promise.all(["ca.pem", "cert.pem", "key.pem"].map((file) => writeFile(join(certs, file), `${file} content`)));
    const endpoint = resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "tcp://192.168.49.2:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs });
    expect(endpoint.tls).toEqual({
      verify: true,
      ca: Buffer.from("ca.pem content"),
      cert: Buffer.from("cert.pem content"),
      key: Buffer.from("key.pem content"),
    });
    const { client } = connectDocker({ HOME: home, DOCKER_HOST: "tcp://192.168.49.2:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs });
    expect(client.modem).toMatchObject({ protocol: "https", host: "192.168.49.2", port: "2376" });
  });

  it("without DOCKER_CERT_PATH the files come from the docker config directory; a missing ca.pem is an error", async () => {
    await writeFile(join(home, ".docker", "ca.pem"), "ca");
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1" }).tls).toEqual({
      verify: true,
      ca: Buffer.from("ca"),
      cert: undefined,
      key: undefined,
    });
    const error = thrown(() =>
      resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: join(home, "none") }),
    );
    expect(error.message).toBe(`Cannot read ca.pem for the Docker engine's TLS in DOCKER_CERT_PATH=${join(home, "none")}.`);
  });

  it("DOCKER_TLS alone: TLS without verifying; no TLS variable: plain HTTP even on port 2376, as docker", async () => {
    await writeFile(join(home, ".docker", "ca.pem"), "ca");
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS: "1" }).tls).toMatchObject({ verify: false });
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "tcp://h:2376" }).tls).toBeUndefined();
    expect(connectDocker({ HOME: home, DOCKER_HOST: "tcp://h:2376" }).client.modem).toMatchObject({ protocol: "http" });
  });

  it("with TLS on and no DOCKER_HOST, docker's default is tcp://localhost:2376", async () => {
    await writeFile(join(home, ".docker", "ca.pem"), "ca");
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_TLS_VERIFY: "1" })).toMatchObject({ host: "tcp://localhost:2376", tls: { verify: true } });
  });

  it("a context's TLS material and SkipTLSVerify come from the context store", async () => {
    await storeContext(join(home, ".docker"), "remote", "tcp://build.example:2376", { tls: { "ca.pem": "CA", "cert.pem": "CERT", "key.pem": "KEY" } });
    await storeContext(join(home, ".docker"), "lab", "tcp://lab.example:2376", { skipTlsVerify: true });
    await storeContext(join(home, ".docker"), "plain", "tcp://plain.example:2375");
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "remote" }).tls).toEqual({
      verify: true,
      ca: Buffer.from("CA"),
      cert: Buffer.from("CERT"),
      key: Buffer.from("KEY"),
    });
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "lab" }).tls).toEqual({ verify: false, ca: undefined, cert: undefined, key: undefined });
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "plain" }).tls).toBeUndefined();
    // TLS variables belong to the default context only.
    expect(resolveDockerEndpoint({ HOME: home, DOCKER_CONTEXT: "plain", DOCKER_TLS_VERIFY: "1" }).tls).toBeUndefined();
    const lab = connectDocker({ HOME: home, DOCKER_CONTEXT: "lab" }).client.modem as unknown as {
      protocol: string;
      agent?: { options?: { rejectUnauthorized?: boolean } };
    };
    expect(lab.protocol).toBe("https");
    expect(lab.agent?.options?.rejectUnauthorized).toBe(false);
  });
});

/** A stand-in engine on a unix socket: answers what doctor asks, and counts the requests. */
async function fakeEngine(socket: string): Promise<{ server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? "");
    response.setHeader("content-type", "application/json");
    if (request.url?.endsWith("/version")) return void response.end(JSON.stringify({ Version: "29.0.1", ApiVersion: "1.52" }));
    if (request.url?.endsWith("/info")) return void response.end(JSON.stringify({ DockerRootDir: "/var/lib/docker" }));
    if (request.url?.endsWith("/_ping")) return void response.end("OK");
    response.statusCode = 404;
    response.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { server, requests };
}

describe("doctor and errors name the endpoint and the context", () => {
  it("doctor shows which engine answered and which context chose it", async () => {
    const socket = join(home, "colima.sock");
    const engine = await fakeEngine(socket);
    try {
      await storeContext(join(home, ".docker"), "colima", `unix://${socket}`);
      await useContext(join(home, ".docker"), "colima");
      const { check } = await checkDocker({ HOME: home }, "darwin");
      expect(check).toEqual({
        name: "docker",
        status: "ok",
        detail: `engine 29.0.1 at unix://${socket} from docker context 'colima' (~/.docker/config.json currentContext)`,
      });
      expect(engine.requests.some((url) => url.endsWith("/version"))).toBe(true);
    } finally {
      engine.server.close();
    }
  });

  it("doctor's fix for a stopped engine names the context and how to start it", async () => {
    await storeContext(join(home, ".docker"), "colima", `unix://${join(home, "stopped.sock")}`);
    await useContext(join(home, ".docker"), "colima");
    const { check } = await checkDocker({ HOME: home }, "darwin");
    expect(check).toEqual({
      name: "docker",
      status: "fail",
      detail: `no engine answers at unix://${join(home, "stopped.sock")} from docker context 'colima' (~/.docker/config.json currentContext) (ENOENT)`,
      fix: "colima start   (starts the engine of docker context 'colima'; or switch: docker context use NAME; 'docker context ls' lists the contexts)",
    });
    await storeContext(join(home, ".docker"), "team-box", `unix://${join(home, "stopped.sock")}`);
    const other = await checkDocker({ HOME: home, DOCKER_CONTEXT: "team-box" }, "linux");
    expect(other.check.fix).toBe(
      "start the engine of docker context 'team-box' ('docker context inspect team-box' shows where it is), or unset DOCKER_CONTEXT; 'docker context ls' lists the contexts",
    );
  });

  it("with nothing chosen, the fix names the default context and how to pick another", async () => {
    // DOCKER_TLS_VERIFY without DOCKER_HOST: docker's default is tcp://localhost:2376, where nothing listens here.
    await writeFile(join(home, ".docker", "ca.pem"), "ca");
    const { check } = await checkDocker({ HOME: home, DOCKER_TLS_VERIFY: "1" }, "linux");
    expect(check).toMatchObject({
      status: "fail",
      detail: "no engine answers at tcp://localhost:2376, the default (no DOCKER_HOST, DOCKER_CONTEXT or current docker context) (ECONNREFUSED)",
      fix: "sudo systemctl start docker   (docker context 'default'; for an engine elsewhere, e.g. Colima or rootless: docker context use NAME)",
    });
  });

  it("mlkube build's error for an unreachable engine names the context", async () => {
    await storeContext(join(home, ".docker"), "rootless", `unix://${join(home, "stopped.sock")}`);
    await useContext(join(home, ".docker"), "rootless");
    const error = await ensureDockerReachable(connectDocker({ HOME: home })).then(
      () => undefined,
      (failure: UserError) => failure,
    );
    expect(error?.message).toBe(
      `Cannot reach the Docker engine at unix://${join(home, "stopped.sock")} from docker context 'rootless' (${join(home, ".docker", "config.json")} currentContext): no socket exists at that path.`,
    );
    expect(error?.hint).toMatch(/^Start the engine of docker context 'rootless', or switch with 'docker context use NAME'/);
  });
});

describe("kind and minikube reach the same engine", () => {
  it("get the docker context mlkube resolved, by name; DOCKER_HOST is simply inherited", async () => {
    await storeContext(join(home, ".docker"), "colima", "unix:///nonexistent/colima.sock");
    await useContext(join(home, ".docker"), "colima");
    expect(engineEnvForTools(resolveDockerEndpoint({ HOME: home }))).toEqual({ DOCKER_CONTEXT: "colima" });
    expect(engineEnvForTools(resolveDockerEndpoint({ HOME: home, DOCKER_HOST: "unix:///x.sock" }))).toEqual({});
    expect(engineEnvForTools(resolveDockerEndpoint({ HOME: join(home, "none") }))).toEqual({ DOCKER_CONTEXT: "default" });

    const pathDir = join(home, "bin");
    await mkdir(pathDir);
    await writeFile(join(pathDir, "kind"), "#!/bin/sh\n", { mode: 0o755 });
    const kubeconfig = join(home, "kubeconfig");
    await writeFile(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    const before = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      const envs: (Readonly<Record<string, string | undefined>> | undefined)[] = [];
      const exec: Exec = async (_file, _args, options) => {
        envs.push(options?.env);
        return { stdout: "", stderr: "", exitCode: 0 };
      };
      const config = configSchema.parse({});
      const provider = await selectProvider(
        { cluster: config.cluster, service: config.service },
        {},
        { docker: connectDocker({ HOME: home }), exec, env: { PATH: pathDir }, binDir: join(home, "nobin") },
      );
      expect(provider).toBeInstanceOf(KindProvider);
      await (provider as KindProvider).exists();
      expect(envs.at(-1)).toEqual({ DOCKER_CONTEXT: "colima" });
    } finally {
      if (before === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = before;
    }
  });
});
