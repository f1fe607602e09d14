import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ImageBuilder } from "../../src/adapters/docker/build.js";
import { buildkitArgs } from "../../src/adapters/docker/buildkit-build.js";
import { findBuildkitCli } from "../../src/adapters/docker/buildkit-cli.js";
import { readSecrets, secretMask } from "../../src/adapters/docker/build-secrets.js";
import { dockerCliEnv } from "../../src/adapters/docker/client.js";
import { resolveDockerEndpoint } from "../../src/adapters/docker/endpoint.js";
import { checkDockerfile, heredocs, readInstructions, syntaxDirective } from "../../src/adapters/docker/dockerfile-check.js";
import { CommandFailedError, type Exec } from "../../src/adapters/exec.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Directories each holding an executable `docker`; the fake exec answers per directory. */
async function pathWith(names: string[]): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), "mlkube-cli-"));
  dirs.push(root);
  const path: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    await mkdir(dir);
    await writeFile(join(dir, "docker"), "#!/bin/sh\n");
    await chmod(join(dir, "docker"), 0o755);
    path.push(dir);
  }
  return path;
}

function fakeDockers(clis: Record<string, { version: string; buildx: boolean }>): Exec {
  return async (file, args) => {
    const cli = clis[file.split("/").at(-2) ?? ""];
    if (!cli) throw new Error(`unexpected ${file}`);
    if (args[0] === "version") return { stdout: `${cli.version}\n`, stderr: "", exitCode: 0 };
    if (args[0] === "buildx" && cli.buildx) return { stdout: "github.com/docker/buildx v0.14.0\n", stderr: "", exitCode: 0 };
    throw new CommandFailedError(`${file} ${args.join(" ")}`, 1, "docker: unknown command: docker buildx");
  };
}

describe("the docker CLI that runs BuildKit builds", () => {
  it("uses buildx where the user's docker has it", async () => {
    const searchPath = await pathWith(["desktop"]);
    const choice = await findBuildkitCli({ env: {}, searchPath, exec: fakeDockers({ desktop: { version: "27.3.1", buildx: true } }) });
    expect(choice).toEqual({ cli: { path: join(searchPath[0] ?? "", "docker"), mode: "buildx", version: "27.3.1" }, note: undefined });
  });

  it("uses the built-in BuildKit client of a CLI older than 23 (Debian's 20.10)", async () => {
    const searchPath = await pathWith(["debian"]);
    const choice = await findBuildkitCli({ env: {}, searchPath, exec: fakeDockers({ debian: { version: "20.10.24+dfsg1", buildx: false } }) });
    expect(choice.cli).toMatchObject({ mode: "builtin", version: "20.10.24+dfsg1" });
  });

  it("passes over a 23+ CLI without buildx for a later one that can, and says so", async () => {
    const searchPath = await pathWith(["local", "debian"]);
    const choice = await findBuildkitCli({
      env: {},
      searchPath,
      exec: fakeDockers({ local: { version: "28.2.2", buildx: false }, debian: { version: "20.10.24+dfsg1", buildx: false } }),
    });
    expect(choice.cli?.path).toBe(join(searchPath[1] ?? "", "docker"));
    expect(choice).toMatchObject({
      note: `not ${join(searchPath[0] ?? "", "docker")} (28.2.2): it has no buildx plugin, which BuildKit needs since Docker 23`,
    });
  });

  it("gives the reason when no CLI can", async () => {
    const searchPath = await pathWith(["local"]);
    const choice = await findBuildkitCli({ env: {}, searchPath, exec: fakeDockers({ local: { version: "28.2.2", buildx: false } }) });
    expect(choice).toEqual({
      cli: undefined,
      reason: `${join(searchPath[0] ?? "", "docker")} (28.2.2): it has no buildx plugin, which BuildKit needs since Docker 23; install the buildx plugin (docker-buildx-plugin, or Docker's docker-buildx package) to build with BuildKit`,
    });
    expect(await findBuildkitCli({ env: {}, searchPath: [], exec: fakeDockers({}) })).toEqual({
      cli: undefined,
      reason: "no docker CLI is on the PATH (mlkube runs BuildKit builds through it)",
    });
  });
});

describe("the docker CLI's arguments and environment", () => {
  it("gives the CLI the context directory and passes secrets by reference, never by value", () => {
    const args = buildkitArgs(
      {
        cli: { path: "/usr/bin/docker", mode: "builtin", version: "20.10.24" },
        contextDir: "/home/u/models/iris",
        dockerfile: "/home/u/models/iris/Dockerfile",
        buildArgs: { BASE_IMAGE: "python:3.12" },
        target: "serve",
        labels: { "dev.mlkube.managed": "true" },
        secrets: [
          { id: "pip", env: "PIP_TOKEN" },
          { id: "netrc", file: "/home/u/a,b/.netrc" },
        ],
      },
      "/tmp/x/image-id",
    );
    expect(args).toEqual([
      "build",
      "--progress=plain",
      "--iidfile",
      "/tmp/x/image-id",
      "-f",
      "/home/u/models/iris/Dockerfile",
      "--target",
      "serve",
      "--build-arg",
      "BASE_IMAGE=python:3.12",
      "--label",
      "dev.mlkube.managed=true",
      "--secret",
      "id=pip,env=PIP_TOKEN",
      "--secret",
      'id=netrc,"src=/home/u/a,b/.netrc"',
      "--",
      "/home/u/models/iris",
    ]);
    expect(
      buildkitArgs(
        { cli: { path: "docker", mode: "buildx", version: "27.0.0" }, contextDir: "/m", dockerfile: "/m/D", buildArgs: {}, labels: {}, secrets: [] },
        "/i",
      ).slice(0, 3),
    ).toEqual(["buildx", "build", "--load"]);
  });

  it("points the CLI at the engine mlkube resolved: DOCKER_HOST as given, else the context by name", () => {
    const env = { DOCKER_HOST: "tcp://192.168.49.2:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/home/u/.minikube/certs", HOME: "/nonexistent" };
    const tls = { ...env };
    // minikube docker-env's variables travel as they are (the CLI reads the certificates itself).
    expect(dockerCliEnv(tls, { host: "tcp://192.168.49.2:2376", tls: undefined, context: "default", source: "DOCKER_HOST", configFile: "" })).toMatchObject({
      DOCKER_HOST: env.DOCKER_HOST,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: env.DOCKER_CERT_PATH,
      DOCKER_CONTEXT: undefined,
    });
    const resolved = resolveDockerEndpoint({ HOME: "/nonexistent" });
    expect(dockerCliEnv({ HOME: "/nonexistent", DOCKER_HOST: "" }, resolved)).toMatchObject({ DOCKER_HOST: undefined, DOCKER_CONTEXT: "default" });
  });
});

describe("heredocs and the # syntax= line", () => {
  const text = "FROM x\nCOPY <<EOT /app/x.txt\nhello\nRUNN not an instruction\nEOT\nRUN <<-EOF cat > /a\n\tbody\n\tEOF\nRUN echo after\n";

  it("finds heredoc bodies and does not read them as instructions", () => {
    expect(heredocs(text)).toEqual([
      { line: 2, keyword: "COPY", body: [3, 5] },
      { line: 6, keyword: "RUN", body: [7, 8] },
    ]);
    expect(readInstructions(text).map((instruction) => `${instruction.line} ${instruction.keyword}`)).toEqual(["1 FROM", "2 COPY", "6 RUN", "9 RUN"]);
  });

  it("rejects a heredoc before the build where the frontend is too old, naming both ways out", () => {
    const fix = "Add '# syntax=docker/dockerfile:1' ... or build on Docker Engine 23 or newer";
    expect(() =>
      checkDockerfile(text, "Dockerfile", { supported: false, frontend: "the Dockerfile frontend built into the engine (Docker 20.10.24)", fix }),
    ).toThrow(
      expect.objectContaining({
        kind: "dockerfile",
        message: "Dockerfile:2: the COPY uses a heredoc (<<), which the Dockerfile frontend built into the engine (Docker 20.10.24) is too old to read.",
        hint: fix,
      }),
    );
    // A newer frontend, or one the # syntax= line names, reads it.
    expect(() => checkDockerfile(text, "Dockerfile")).not.toThrow();
    expect(() => checkDockerfile(`# syntax=docker/dockerfile:1\n${text}`, "Dockerfile", { supported: false, frontend: "old", fix })).not.toThrow();
  });

  it("reads # syntax= only among the parser directives at the top", () => {
    expect(syntaxDirective("# syntax=docker/dockerfile:1.7\nFROM x\n")).toBe("docker/dockerfile:1.7");
    expect(syntaxDirective("# escape=`\n#syntax = example.com/frontend:2\nFROM x\n")).toBe("example.com/frontend:2");
    expect(syntaxDirective("# a comment\n# syntax=docker/dockerfile:1\nFROM x\n")).toBeUndefined();
    expect(syntaxDirective("FROM x\n# syntax=docker/dockerfile:1\n")).toBeUndefined();
  });
});

describe("build secrets", () => {
  it("masks each value, and each line of a multi-line one, wherever it appears", () => {
    const mask = secretMask(["tok-123456", "machine example.com\nlogin u\npassword hunter22\n", "ab"]);
    expect(mask("got tok-123456 and tok-123456")).toBe("got *** and ***");
    expect(mask("echo password hunter22")).toBe("echo ***");
    expect(mask("ab stays: too short to mask")).toBe("ab stays: too short to mask");
  });

  it("says which secret cannot be read and where it was to come from", async () => {
    await expect(readSecrets([{ id: "pip", env: "MLKUBE_TEST_UNSET_VARIABLE" }], {})).rejects.toMatchObject({
      kind: "config",
      message: "The build secret 'pip' comes from the environment variable MLKUBE_TEST_UNSET_VARIABLE, which is not set.",
    });
    await expect(readSecrets([{ id: "netrc", file: "/nonexistent/.netrc" }])).rejects.toMatchObject({
      kind: "config",
      message: "The build secret 'netrc' comes from /nonexistent/.netrc, which cannot be read (ENOENT).",
    });
    expect(await readSecrets([{ id: "pip", env: "T" }], { T: "value" })).toEqual([{ id: "pip", env: "T", value: "value" }]);
  });
});

describe("which builder an ImageBuilder uses", () => {
  const engine = (version: { Version: string; ApiVersion: string; Os: string }) => ({ client: { version: versions([version]) } as never, cliEnv: {} });
  const buildx = async () => ({ cli: { path: "/usr/bin/docker", mode: "buildx" as const, version: "27.3.1" } });

  it("BuildKit where the engine has it and a CLI can drive it; heredocs from Docker 23 on", async () => {
    const modern = await new ImageBuilder(engine({ Version: "27.3.1", ApiVersion: "1.47", Os: "linux" }), undefined, { findCli: buildx }).builder();
    expect(modern).toMatchObject({ builder: "buildkit", detail: "BuildKit on Docker 27.3.1 through /usr/bin/docker buildx", heredocs: { supported: true } });
    const debian = await new ImageBuilder(engine({ Version: "20.10.24+dfsg1", ApiVersion: "1.41", Os: "linux" }), undefined, { findCli: buildx }).builder();
    expect(debian).toMatchObject({
      builder: "buildkit",
      heredocs: { supported: false, frontend: "the Dockerfile frontend built into the engine (Docker 20.10.24+dfsg1)" },
    });
  });

  it("the classic builder only where BuildKit cannot be, with the reason", async () => {
    const noCli = async () => ({ cli: undefined, reason: "no docker CLI is on the PATH (mlkube runs BuildKit builds through it)" });
    expect(await new ImageBuilder(engine({ Version: "27.3.1", ApiVersion: "1.47", Os: "linux" }), undefined, { findCli: noCli }).builder()).toMatchObject({
      builder: "classic",
      detail: "classic builder, because no docker CLI is on the PATH (mlkube runs BuildKit builds through it)",
    });
    expect(await new ImageBuilder(engine({ Version: "27.3.1", ApiVersion: "1.47", Os: "windows" }), undefined, { findCli: buildx }).builder()).toMatchObject({
      builder: "classic",
      reason: "the engine builds windows images, which BuildKit does not",
    });
    expect(await new ImageBuilder(engine({ Version: "18.06.3", ApiVersion: "1.38", Os: "linux" }), undefined, { findCli: buildx }).builder()).toMatchObject({
      builder: "classic",
      reason: "the engine (Docker 18.06.3) predates BuildKit",
    });
  });

  it("asks the engine again after it did not answer", async () => {
    const builder = new ImageBuilder(
      { client: { version: versions([new Error("connect ECONNREFUSED"), { Version: "27.3.1", ApiVersion: "1.47", Os: "linux" }]) } as never, cliEnv: {} },
      undefined,
      { findCli: buildx },
    );
    await expect(builder.builder()).rejects.toThrow("ECONNREFUSED");
    await expect(builder.builder()).resolves.toMatchObject({ builder: "buildkit" });
  });
});

function versions(answers: (Error | { Version: string; ApiVersion: string; Os: string })[]) {
  return async () => {
    const next = answers.shift();
    if (next instanceof Error || next === undefined) throw next ?? new Error("no more answers");
    return next;
  };
}
