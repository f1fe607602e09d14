import { execFile } from "node:child_process";
import { appendFileSync } from "node:fs";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder, type BuildEvent, type BuildRequest } from "../../src/adapters/docker/build.js";
import { findBuildkitCli, type BuildkitCli } from "../../src/adapters/docker/buildkit-cli.js";
import type { BuildStep } from "../../src/adapters/docker/buildkit-progress.js";
import { isUserError, type UserError } from "../../src/errors.js";
import { BASE_IMAGE, copyFixture, docker, engine, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const hasEngine = await engineAvailable();
const engineMajor = hasEngine ? Number((await docker.version()).Version.split(".")[0]) : 0;
const clis = hasEngine ? await clisToTest() : [];

/**
 * BuildKit, the default builder: the features the classic builder lacks, on the real engine, through
 * each docker CLI users build with: buildx (Docker 23+, Desktop) and, where the engine is older than
 * 23, that engine's own CLI and its built-in BuildKit client (Debian's docker.io 20.10).
 */
describe.runIf(hasEngine).each(clis)("BuildKit builds on the real Docker engine through $label", ({ cli }) => {
  const repository = uniqueName("mlkube-test-buildkit");
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let builder: ImageBuilder;
  const request = (dockerfile?: string): BuildRequest => ({
    contextDir: fixture.dir,
    dockerfile: join(fixture.dir, dockerfile ?? "Dockerfile"),
    buildArgs: { BASE_IMAGE },
    repository,
  });
  const buildCollecting = async (buildRequest: BuildRequest, options: { signal?: AbortSignal; onEvent?: (event: BuildEvent) => void } = {}) => {
    const events: BuildEvent[] = [];
    const result = await builder.build(buildRequest, {
      signal: options.signal,
      onEvent: (event) => {
        events.push(event);
        options.onEvent?.(event);
      },
    });
    return { result, events, steps: finalSteps(events) };
  };
  const failure = (buildRequest: BuildRequest) =>
    builder.build(buildRequest).then(
      () => undefined,
      (error: unknown) => error as UserError,
    );

  beforeAll(async () => {
    fixture = await copyFixture();
    builder = new ImageBuilder(engine, undefined, { findCli: async () => ({ cli }) });
  });
  afterAll(async () => {
    await removeRepository(repository);
    await fixture.cleanup();
  });

  it("builds with BuildKit by default and reports each step: name, cached or not, duration", async () => {
    const first = await buildCollecting(request());
    expect(first.events[0]).toMatchObject({ type: "builder", builder: "buildkit" });
    expect((first.events[0] as { detail: string }).detail).toMatch(/^BuildKit on Docker \S+ through /);
    expect((first.events[0] as { detail: string }).detail).toContain(
      cli.mode === "buildx" ? `${cli.path} buildx` : `${cli.path} ${cli.version} (its built-in BuildKit client)`,
    );
    expect(first.result.totalSteps).toBe(6); // FROM, WORKDIR, COPY, RUN, RUN, COPY
    expect(first.result.reference).toMatch(new RegExp(`^${repository}:[0-9a-f]{16}$`));

    // Unique per run: BuildKit's cache would otherwise remember this very edit from an earlier run.
    await appendFile(join(fixture.dir, "app.py"), `\n# ${uniqueName("edit")}\n`);
    const second = await buildCollecting(request());
    expect(second.events.some((event) => event.type === "builder")).toBe(false); // said once per builder
    expect(second.result.tag).not.toBe(first.result.tag);
    const copyApp = second.steps.find((step) => step.instruction?.includes("app.py"));
    expect(copyApp).toMatchObject({ status: "done", name: "[6/6] COPY model.pkl app.py ./" });
    expect(copyApp?.ms).toBeGreaterThanOrEqual(0);
    const before = second.steps.filter((step) => step.instruction && step.index! > 1 && step.index! < 6);
    expect(before.map((step) => step.status)).toEqual(["cached", "cached", "cached", "cached"]);
    expect(second.result.cachedSteps).toBe(4);
  });

  it("builds again when a file changes after BuildKit read the context, so the tag names what the image holds", async () => {
    const edit = `# ${uniqueName("late-edit")}`;
    await appendFile(join(fixture.dir, "app.py"), `\n# ${uniqueName("before")}\n`); // content no build has seen
    let edited = false;
    const { result, events } = await buildCollecting(request(), {
      onEvent: (event) => {
        // Once BuildKit has the context: the image being built cannot hold this edit.
        if (!edited && event.type === "progress" && event.step.name === "[internal] load build context" && event.step.status === "done") {
          edited = true;
          appendFileSync(join(fixture.dir, "app.py"), `\n${edit}\n`);
        }
      },
    });
    expect(edited).toBe(true);
    expect(outputLines(events)).toContain("files changed during the build: building again");
    const { stdout } = await promisify(execFile)("docker", ["run", "--rm", "--entrypoint", "cat", result.reference, "/app/app.py"]);
    expect(stdout).toContain(edit);
    // The tag is that of the directory as it is now: building it again finds the same image.
    expect(await builder.build(request())).toMatchObject({ cached: true, reference: result.reference });
  });

  it("sends what mlkube lists: the Dockerfile's own ignore file decides, and a change to an excluded file keeps the tag", async () => {
    await writeFile(join(fixture.dir, "Dockerfile.ctx"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /ctx/\n");
    await writeFile(join(fixture.dir, "Dockerfile.ctx.dockerignore"), "notes.txt\n");
    await writeFile(join(fixture.dir, "notes.txt"), "draft 1\n");
    const first = await builder.build(request("Dockerfile.ctx"));
    const { stdout } = await promisify(execFile)("docker", ["run", "--rm", "--entrypoint", "ls", first.reference, "/ctx"]);
    expect(stdout.split("\n")).toEqual(expect.arrayContaining(["app.py", "Dockerfile.ctx"]));
    expect(stdout.split("\n")).not.toContain("notes.txt");
    await writeFile(join(fixture.dir, "notes.txt"), "draft 2\n");
    expect(await builder.build(request("Dockerfile.ctx"))).toMatchObject({ cached: true, reference: first.reference });
  });

  it("keeps a cache mount between builds: the second build's RUN finds the first one's work", async () => {
    const marker = uniqueName("pip");
    await writeFile(
      join(fixture.dir, "Dockerfile.cache"),
      [
        "ARG BASE_IMAGE",
        "FROM ${BASE_IMAGE}",
        "COPY requirements.txt /tmp/",
        `RUN --mount=type=cache,target=/root/.cache/${marker} sh -c 'if [ -f /root/.cache/${marker}/wheel ]; then echo reused-cache; else echo downloading; touch /root/.cache/${marker}/wheel; fi'`,
      ].join("\n"),
    );
    const first = await buildCollecting(request("Dockerfile.cache"));
    expect(outputLines(first.events)).toContain("downloading");
    // requirements.txt changes: the RUN's layer is rebuilt, but its cache mount survives.
    await appendFile(join(fixture.dir, "requirements.txt"), "\n# bump\n");
    const second = await buildCollecting(request("Dockerfile.cache"));
    expect(second.steps.find((step) => step.instruction?.startsWith("RUN --mount=type=cache"))?.status).toBe("done");
    expect(outputLines(second.events)).toContain("reused-cache");
    expect(outputLines(second.events)).not.toContain("downloading");
  });

  it("builds the stage --target names, and only what it needs", async () => {
    await writeFile(
      join(fixture.dir, "Dockerfile.stages"),
      ["ARG BASE_IMAGE", "FROM ${BASE_IMAGE} AS base", "ENV STAGE=base", "FROM base AS test", "ENV STAGE=test", "FROM base AS final", "RUN exit 9"].join("\n"),
    );
    const { result, steps } = await buildCollecting({ ...request("Dockerfile.stages"), target: "test" });
    const env = (await docker.getImage(result.imageId).inspect()).Config.Env;
    expect(env).toContain("STAGE=test");
    expect(steps.some((step) => step.instruction === "RUN exit 9")).toBe(false);
    const other = await builder.build({ ...request("Dockerfile.stages"), target: "base" });
    expect(other.tag).not.toBe(result.tag);
  });

  it("gives a RUN a secret that ends up nowhere: not in the layers, the history, the tag, the events or an error", async () => {
    const value = `s3cret-${uniqueName("token")}`;
    const fileValue = `file-${uniqueName("netrc")}`;
    const secretFile = join(fixture.dir, "..", "netrc");
    await writeFile(secretFile, `${fileValue}\n`);
    const variable = `MLKUBE_TEST_TOKEN_${process.pid}`;
    process.env[variable] = value;
    try {
      await writeFile(
        join(fixture.dir, "Dockerfile.secret"),
        [
          "ARG BASE_IMAGE",
          "FROM ${BASE_IMAGE}",
          `ENV TEST_RUN=${uniqueName("run")}`, // a RUN this build must run, not find in the cache of an earlier test run
          // Uses both secrets (their lengths land in the image), and prints one: the output must mask it.
          "RUN --mount=type=secret,id=token --mount=type=secret,id=netrc sh -c 'wc -c < /run/secrets/token > /token-length && wc -c < /run/secrets/netrc > /netrc-length && echo got $(cat /run/secrets/token)'",
        ].join("\n"),
      );
      const secrets = [
        { id: "token", env: variable },
        { id: "netrc", file: secretFile },
      ];
      const { result, events } = await buildCollecting({ ...request("Dockerfile.secret"), secrets });
      expect(outputLines(events)).toContain("got ***");

      const everything = JSON.stringify(events) + result.reference;
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(fileValue);
      const history = JSON.stringify(await docker.getImage(result.imageId).history());
      expect(history).not.toContain(value);
      const found = await imageContains(result.imageId, [value, fileValue, "token-length"]);
      expect(found).toEqual(["token-length"]); // the scan does see the image's files, and no secret

      // Another value: the same image (the tag is no function of the secret).
      process.env[variable] = `${value}-rotated`;
      expect((await builder.build({ ...request("Dockerfile.secret"), secrets })).reference).toBe(result.reference);

      // A failing RUN that prints the secret: the error masks it too.
      await writeFile(
        join(fixture.dir, "Dockerfile.secret-fails"),
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN --mount=type=secret,id=token sh -c 'echo leaked $(cat /run/secrets/token); exit 4'\n",
      );
      const error = await failure({ ...request("Dockerfile.secret-fails"), secrets });
      expect(error?.message).toMatch(/^Dockerfile line 3 \(RUN --mount=type=secret,id=token .*\) failed: .*exit code: 4/);
      expect(error?.details).toContain(`leaked ***`);
      expect(JSON.stringify({ message: error?.message, details: error?.details, hint: error?.hint })).not.toContain("rotated");
    } finally {
      delete process.env[variable];
    }
  });

  it("says which secret mlkube.yaml lacks when a RUN needs one the build does not provide", async () => {
    await writeFile(
      join(fixture.dir, "Dockerfile.missing-secret"),
      "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN --mount=type=secret,id=pip,required=true cat /run/secrets/pip\n",
    );
    const error = await failure(request("Dockerfile.missing-secret"));
    expect(error?.message).toMatch(/^Dockerfile line 3 /);
    expect(error?.hint).toMatch(/secret 'pip'.*build\.secrets in mlkube\.yaml/);
  });

  it("locates a failing RUN at its line, with a hint about the command, not the instruction", async () => {
    await writeFile(
      join(fixture.dir, "Dockerfile.fails"),
      "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nWORKDIR /app\nRUN --mount=type=cache,target=/root/.cache sh -c 'echo about to fail; exit 3'\n",
    );
    const error = await failure(request("Dockerfile.fails"));
    expect(isUserError(error)).toBe(true);
    expect(error?.kind).toBe("build");
    expect(error?.message).toMatch(/^Dockerfile line 4 \(RUN --mount=type=cache.*\) failed: .*exit code: 3$/);
    expect(error?.details).toContain("about to fail");
    expect(error?.hint).toBe(
      "The command at line 4 exited with code 3; its last output is shown above. Fix the command (or what it needs), then save to rebuild.",
    );
  });

  it("locates a Dockerfile syntax error the engine reports at its line", async () => {
    await writeFile(join(fixture.dir, "Dockerfile.syntax"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo ok\nCOPY app.py\n");
    const error = await failure(request("Dockerfile.syntax"));
    expect(error?.kind).toBe("dockerfile");
    expect(error?.message).toMatch(/Dockerfile\.syntax:4: COPY requires at least two arguments/);
    expect(error?.hint).toMatch(/^Fix line 4 of .*Dockerfile\.syntax/);
  });

  // A 23+ engine builds heredocs with its own frontend: test/integration/newer-engine.test.ts.
  it.runIf(engineMajor < 23)("says the engine's Dockerfile frontend is too old for a heredoc, and the two ways out", async () => {
    await writeFile(join(fixture.dir, "Dockerfile.heredoc"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY <<EOT /app/x.txt\nhello\nEOT\n");
    const error = await failure(request("Dockerfile.heredoc"));
    expect(error?.kind).toBe("dockerfile");
    expect(error?.message).toMatch(
      /Dockerfile\.heredoc:3: the COPY uses a heredoc \(<<\), which the Dockerfile frontend built into the engine \(Docker 2\d\.[^)]*\) is too old to read\./,
    );
    expect(error?.hint).toMatch(/# syntax=docker\/dockerfile:1/);
    expect(error?.hint).toMatch(/Docker Engine 23 or newer/);
  });

  // Opt-in: no frontend image can be pulled on the build machines (README, Development).
  it.runIf(process.env.MLKUBE_TEST_SYNTAX_FRONTEND)("builds with the '# syntax=' frontend the Dockerfile names, heredocs included", async () => {
    const frontend = process.env.MLKUBE_TEST_SYNTAX_FRONTEND ?? "";
    const text = uniqueName("via-frontend");
    await writeFile(
      join(fixture.dir, "Dockerfile.syntax-ok"),
      `# syntax=${frontend}\nARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY <<EOT /app/hello.txt\n${text}\nEOT\n`,
    );
    const { result, steps } = await buildCollecting(request("Dockerfile.syntax-ok"));
    expect(steps.some((step) => step.name.includes(frontend))).toBe(true);
    const { stdout } = await promisify(execFile)("docker", ["run", "--rm", "--entrypoint", "cat", result.reference, "/app/hello.txt"]);
    expect(stdout.trim()).toBe(text);
  });

  it("names a '# syntax=' frontend that cannot be pulled and says it must be pullable or removed", async () => {
    const frontend = "localhost:1/mlkube-no-such-frontend:1";
    await writeFile(join(fixture.dir, "Dockerfile.frontend"), `# syntax=${frontend}\nARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY <<EOT /app/x.txt\nhello\nEOT\n`);
    const error = await failure(request("Dockerfile.frontend"));
    expect(error?.kind).toBe("dockerfile");
    expect(error?.message).toContain(`The Dockerfile frontend '${frontend}' named by the '# syntax=' line of`);
    expect(error?.hint).toBe(
      `The frontend image ${frontend} must be pullable by the Docker engine (check its network and 'docker login'), or remove the '# syntax=' line to build with the engine's built-in frontend.`,
    );
  });

  it("stops a cancelled build: the docker CLI and the RUN's processes end, nothing is tagged", async () => {
    const marker = uniqueName("cancel-marker");
    const cancelRepository = uniqueName("mlkube-test-bk-cancel");
    await writeFile(join(fixture.dir, "Dockerfile.slow"), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo ${marker} && sleep 120 && echo ${marker}-done\n`);
    const controller = new AbortController();
    let cancelledAt = 0;
    const cancel = () => {
      cancelledAt ||= Date.now();
      controller.abort();
    };
    const error = await builder
      .build(
        { ...request("Dockerfile.slow"), repository: cancelRepository },
        {
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === "output" && event.line === marker) cancel();
          },
        },
      )
      .catch((caught: unknown) => caught);
    try {
      expect(error).toMatchObject({ kind: "cancelled" });
      // From the cancel (not from the start, which a loaded machine slows): SIGINT, then SIGKILL
      // after a second, well under the 120 s the step would run.
      expect(cancelledAt).toBeGreaterThan(0);
      expect(Date.now() - cancelledAt).toBeLessThan(10_000);
      // BuildKit runs the RUN as a process of the engine, not a container: it must be gone too.
      let leftovers: string[] = [];
      for (let attempt = 0; attempt < 40; attempt++) {
        leftovers = await processesMentioning(marker);
        if (leftovers.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(leftovers).toEqual([]);
      expect(await docker.listImages({ filters: JSON.stringify({ reference: [cancelRepository] }) })).toEqual([]);
    } finally {
      await removeRepository(cancelRepository);
    }
  });
});

/** buildx, which scripts/setup-engine.sh installs; with an engine older than 23, also its own CLI's built-in client. */
async function clisToTest(): Promise<{ label: string; cli: BuildkitCli }[]> {
  const found = await findBuildkitCli({ env: process.env });
  if (found.cli?.mode !== "buildx")
    throw new Error(`no docker CLI with the buildx plugin (scripts/setup-engine.sh installs it): ${found.cli ? `${found.cli.path} has none` : found.reason}`);
  const clis = [{ label: `buildx (${found.cli.path} ${found.cli.version})`, cli: found.cli }];
  if (engineMajor < 23) {
    // Debian's docker.io puts the engine's own CLI at /usr/bin/docker.
    const { stdout } = await promisify(execFile)("/usr/bin/docker", ["version", "--format", "{{.Client.Version}}"]);
    const version = stdout.trim();
    clis.push({ label: `the built-in client of /usr/bin/docker ${version}`, cli: { path: "/usr/bin/docker", mode: "builtin", version } });
  }
  return clis;
}

/** Each step's last state, in vertex order. */
function finalSteps(events: readonly BuildEvent[]): BuildStep[] {
  const steps = new Map<number, BuildStep>();
  for (const event of events) if (event.type === "progress") steps.set(event.step.id, event.step);
  return [...steps.values()].sort((a, b) => a.id - b.id);
}

function outputLines(events: readonly BuildEvent[]): string[] {
  return events.flatMap((event) => (event.type === "output" ? [event.line] : []));
}

/** Which of the texts occur anywhere in the image as `docker save` writes it: config, history and every layer's files. */
async function imageContains(imageId: string, texts: readonly string[]): Promise<string[]> {
  const needles = texts.map((text) => Buffer.from(text));
  const overlap = Math.max(...needles.map((needle) => needle.length)) - 1;
  const found = new Set<string>();
  let carry = Buffer.alloc(0);
  for await (const chunk of await docker.getImage(imageId).get()) {
    const window = Buffer.concat([carry, chunk as Buffer]);
    needles.forEach((needle, index) => {
      if (window.includes(needle)) found.add(texts[index] as string);
    });
    carry = window.subarray(Math.max(0, window.length - overlap));
  }
  return texts.filter((text) => found.has(text));
}

async function processesMentioning(text: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("ps", ["-eo", "pid=,args="]);
  return stdout.split("\n").filter((line) => line.includes(text) && !line.includes("ps -eo"));
}
