import type Dockerode from "dockerode";
import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import { displayPath } from "../../config/errors.js";
import { UserError } from "../../errors.js";
import { EXTERNAL_DOCKERFILE_NAME, FileHashCache, contextDigest, listContext, packContext, type ContextEntry } from "./build-context.js";
import { cancelled } from "./build-text.js";
import { runBuildkitBuild } from "./buildkit-build.js";
import { findBuildkitCli, type BuildkitCli, type BuildkitCliChoice } from "./buildkit-cli.js";
import { buildkitFailure } from "./buildkit-errors.js";
import type { BuildStep } from "./buildkit-progress.js";
import { runClassicBuild } from "./classic-build.js";
import type { DockerConnection } from "./client.js";
import { checkDockerfile, type HeredocSupport } from "./dockerfile-check.js";
import { readSecrets, secretMask, type BuildSecret } from "./build-secrets.js";

export interface BuildRequest {
  contextDir: string;
  /** Absolute path; may lie outside the context, as with `docker build -f`. */
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
  /** Image name without tag, e.g. `iris-sklearn` or `localhost:5001/iris-sklearn`. */
  repository: string;
  labels?: Readonly<Record<string, string>>;
  /** Shown in the build's output, once per builder (so once per dev session). */
  warnings?: readonly string[];
  /** BuildKit secrets (`RUN --mount=type=secret,id=...`): never in the image, the tag or any output. */
  secrets?: readonly BuildSecret[];
}

export type BuildEvent =
  | { type: "context"; bytesSent: number; files: number }
  /** Which builder builds and why; once per ImageBuilder, before its first build. */
  | { type: "builder"; builder: "buildkit" | "classic"; detail: string }
  /** Classic builder: step N/M began. */
  | { type: "step"; step: number; totalSteps: number; instruction: string }
  /** Classic builder: the current step came from the cache. */
  | { type: "cache-hit"; step: number }
  /** BuildKit: a step began, came from the cache, finished or failed. */
  | { type: "progress"; step: BuildStep }
  | { type: "output"; line: string };

interface BuildResult {
  /** repository:tag */
  reference: string;
  tag: string;
  imageId: string;
  /** True when an image with this content tag already existed: nothing was built. */
  cached: boolean;
  durationMs: number;
  totalSteps: number;
  cachedSteps: number;
  contextBytes: number;
  /** Which builder built it (or would have, for an image that already existed). */
  builder: "buildkit" | "classic";
}

interface BuildOptions {
  signal?: AbortSignal | undefined;
  onEvent?: ((event: BuildEvent) => void) | undefined;
}

/** Tags are the first 16 hex digits of the content digest: unique per content, never `latest`. */
export const TAG_LENGTH = 16;

/** The engine to build on: its API client, and the environment that points a docker CLI at it. */
type BuildEngine = Pick<DockerConnection, "client" | "cliEnv">;

interface ImageBuilderOptions {
  /** `classic` forces the classic builder (to compare); `auto` (the default) uses BuildKit wherever it can. */
  builder?: "auto" | "classic" | undefined;
  /** How to find a docker CLI that can run BuildKit; replaced in tests. */
  findCli?: ((env: Readonly<Record<string, string | undefined>>) => Promise<BuildkitCliChoice>) | undefined;
}

/** Which builder an ImageBuilder uses, decided once from the engine and the docker CLI. */
type BuilderChoice =
  | { builder: "buildkit"; cli: BuildkitCli; detail: string; heredocs: HeredocSupport }
  | { builder: "classic"; reason: string; detail: string; heredocs: HeredocSupport };

/**
 * Builds images with BuildKit where the engine and a docker CLI allow it, else with the classic
 * builder (and says why, once). One instance per dev session keeps file hashes between iterations.
 */
export class ImageBuilder {
  private readonly docker: Dockerode;
  private readonly cliEnv: Readonly<Record<string, string | undefined>>;

  /** The hash cache can be shared with the file watcher, so each changed file is hashed once. */
  constructor(
    engine: BuildEngine,
    private readonly hashes = new FileHashCache(),
    private readonly options: ImageBuilderOptions = {},
  ) {
    this.docker = engine.client;
    this.cliEnv = engine.cliEnv;
  }

  private readonly warned = new Set<string>();
  private choice: Promise<BuilderChoice> | undefined;

  /** The builder this instance uses (asked of the engine and the docker CLI once). */
  builder(): Promise<BuilderChoice> {
    // An engine that did not answer is asked again next time, not remembered as the answer.
    this.choice ??= chooseBuilder(this.docker, this.cliEnv, this.options).catch((error: unknown) => {
      this.choice = undefined;
      throw error;
    });
    return this.choice;
  }

  /** The docker CLI this instance builds with, and its environment; undefined with the classic builder. */
  async buildkit(): Promise<{ cli: BuildkitCli; env: Readonly<Record<string, string | undefined>> } | undefined> {
    const choice = await this.builder();
    return choice.builder === "buildkit" ? { cli: choice.cli, env: this.cliEnv } : undefined;
  }

  async build(request: BuildRequest, options: BuildOptions = {}): Promise<BuildResult> {
    const started = performance.now();
    const { signal, onEvent = () => undefined } = options;
    throwIfAborted(signal);
    const choice = await this.builder();
    for (const warning of [...(request.warnings ?? []), `builder: ${choice.detail}`]) {
      if (this.warned.has(warning)) continue;
      this.warned.add(warning);
      if (warning.startsWith("builder: ")) onEvent({ type: "builder", builder: choice.builder, detail: choice.detail });
      else onEvent({ type: "output", line: warning });
    }

    const dockerfileText = await readDockerfile(request.dockerfile);
    const dockerfileName = relativeInside(request.contextDir, request.dockerfile);
    const instructions = checkDockerfile(dockerfileText, displayPath(request.dockerfile), choice.heredocs);
    const secrets = await readSecrets(request.secrets ?? []);
    if (secrets.length > 0 && choice.builder === "classic") {
      throw new UserError("config", `build.secrets needs BuildKit, and mlkube builds with the classic builder here because ${choice.reason}.`, {
        hint: "Make BuildKit available (see the reason above), or remove build.secrets and the Dockerfile's secret mounts.",
      });
    }
    const mask = secretMask(secrets.map((secret) => secret.value));
    // Secrets take no part in the tag (nor, in Docker, in the layer cache): the image holds nothing of them.
    const digestInputs = { dockerfileText, buildArgs: request.buildArgs, target: request.target };

    const listed = await listContext(request.contextDir, this.hashes, request.dockerfile);
    const listedTag = contextDigest({ entries: listed, ...digestInputs }).slice(0, TAG_LENGTH);
    const existing = await this.findImage(`${request.repository}:${listedTag}`);
    if (existing) {
      return {
        reference: `${request.repository}:${listedTag}`,
        tag: listedTag,
        imageId: existing,
        cached: true,
        durationMs: performance.now() - started,
        totalSteps: 0,
        cachedSteps: 0,
        contextBytes: 0,
        builder: choice.builder,
      };
    }
    throwIfAborted(signal);

    const labels = { "dev.mlkube.managed": "true", ...request.labels };
    const common = { buildArgs: request.buildArgs, target: request.target, labels, signal };
    let built: { imageId: string; totalSteps: number; cachedSteps: number; contextBytes: number; entries: readonly ContextEntry[] };
    if (choice.builder === "buildkit") {
      built = await this.buildWithBuildkit(request, choice.cli, { ...common, secrets, mask, instructions, dockerfileText, listed, onEvent });
    } else {
      let lastBytesEvent = 0;
      const context = packContext(request.contextDir, listed, dockerfileName === undefined ? dockerfileText : undefined, (bytes) => {
        // Byte counts arrive per tar chunk; report at most every 1 MB so a large model does not flood the UI.
        if (bytes - lastBytesEvent >= 1_000_000) {
          lastBytesEvent = bytes;
          onEvent({ type: "context", bytesSent: bytes, files: listed.length });
        }
      });
      try {
        const progress = await runClassicBuild(this.docker, {
          ...common,
          dockerfileName: dockerfileName ?? EXTERNAL_DOCKERFILE_NAME,
          context: context.stream,
          dockerfile: request.dockerfile,
          instructions,
          reason: choice.reason,
          onEvent,
        });
        const sent = await context.packed;
        onEvent({ type: "context", bytesSent: sent.bytes, files: sent.entries.length });
        built = { ...progress, contextBytes: sent.bytes, entries: sent.entries };
      } finally {
        context.stream.destroy();
      }
    }

    // Tag with the digest of what was actually built: if a file changed meanwhile, the tag names
    // the content in the image, not the content we listed.
    const tag = contextDigest({ entries: built.entries, ...digestInputs }).slice(0, TAG_LENGTH);
    throwIfAborted(signal);
    await this.docker.getImage(built.imageId).tag({ repo: request.repository, tag });
    return {
      reference: `${request.repository}:${tag}`,
      tag,
      imageId: built.imageId,
      cached: false,
      durationMs: performance.now() - started,
      totalSteps: built.totalSteps,
      cachedSteps: built.cachedSteps,
      contextBytes: built.contextBytes,
      builder: choice.builder,
    };
  }

  /**
   * BuildKit reads the context directory itself (buildkit-build.ts), so what it read is known only
   * by listing again afterwards: when a file changed during the build, the image may hold either
   * version and is built again (a dev session cancels such a build before that: the change starts
   * a new iteration).
   */
  private async buildWithBuildkit(
    request: BuildRequest,
    cli: BuildkitCli,
    build: BuildkitInputs,
  ): Promise<{ imageId: string; totalSteps: number; cachedSteps: number; contextBytes: number; entries: readonly ContextEntry[] }> {
    let listed = build.listed;
    for (let attempt = 1; ; attempt++) {
      let contextBytes = 0;
      const outcome = await runBuildkitBuild({
        cli,
        contextDir: request.contextDir,
        dockerfile: request.dockerfile,
        buildArgs: build.buildArgs,
        target: build.target,
        labels: build.labels,
        signal: build.signal,
        env: { ...this.cliEnv, ...Object.fromEntries(build.secrets.flatMap((secret) => (secret.env !== undefined ? [[secret.env, secret.value]] : []))) },
        secrets: build.secrets,
        onProgress: (event) => {
          if (event.type === "step" && event.step.name === CONTEXT_STEP && event.step.bytes !== undefined && event.step.bytes !== contextBytes) {
            // What the CLI moved to BuildKit: after the first build, only the files that changed.
            contextBytes = event.step.bytes;
            build.onEvent({ type: "context", bytesSent: contextBytes, files: listed.length });
          }
          build.onEvent(
            event.type === "step"
              ? { type: "progress", step: { ...event.step, error: event.step.error && build.mask(event.step.error) } }
              : { type: "output", line: build.mask(event.line) },
          );
        },
      });
      if (!outcome.imageId) {
        throw buildkitFailure({
          reader: outcome.reader,
          outputOf: outcome.outputOf,
          instructions: build.instructions,
          dockerfileText: build.dockerfileText,
          dockerfilePath: displayPath(request.dockerfile),
          contextPath: displayPath(request.contextDir),
          mask: build.mask,
        });
      }
      const after = await listContext(request.contextDir, this.hashes, request.dockerfile);
      if (sameEntries(after, listed)) {
        const steps = outcome.reader.instructionSteps();
        // The ID as the engine's own API names the image (with the containerd store, a manifest digest).
        const imageId = (await this.docker.getImage(outcome.imageId).inspect()).Id;
        return { imageId, totalSteps: steps.length, cachedSteps: steps.filter((step) => step.status === "cached").length, contextBytes, entries: after };
      }
      if (attempt >= MAX_CONTEXT_ATTEMPTS) {
        throw new UserError(
          "build",
          `Files in ${displayPath(request.contextDir)} changed during each of ${attempt} builds, so no image can be named by its content.`,
          { hint: "Stop what keeps writing into the model directory (or exclude its output in .dockerignore), then build again." },
        );
      }
      build.onEvent({ type: "output", line: "files changed during the build: building again" });
      listed = after;
      throwIfAborted(build.signal);
    }
  }

  private async findImage(reference: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      return info.Id;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }
}

/** BuildKit's step that receives the context directory from the CLI. */
const CONTEXT_STEP = "[internal] load build context";
/** Builds of a context that keeps changing before mlkube gives up naming one by its content. */
const MAX_CONTEXT_ATTEMPTS = 3;

interface BuildkitInputs {
  buildArgs: Readonly<Record<string, string>>;
  target: string | undefined;
  labels: Readonly<Record<string, string>>;
  signal: AbortSignal | undefined;
  secrets: readonly (BuildSecret & { value: string })[];
  mask: (text: string) => string;
  instructions: ReturnType<typeof checkDockerfile>;
  dockerfileText: string;
  listed: readonly ContextEntry[];
  onEvent: (event: BuildEvent) => void;
}

function sameEntries(a: readonly ContextEntry[], b: readonly ContextEntry[]): boolean {
  return (
    a.length === b.length &&
    a.every((entry, index) => entry.path === b[index]?.path && entry.sha256 === b[index]?.sha256 && entry.executable === b[index]?.executable)
  );
}

/** Docker 23.0 made BuildKit 0.11 the engine's builder: its built-in Dockerfile frontend reads heredocs. */
const FIRST_MAJOR_WITH_HEREDOCS = 23;
/** API 1.39 (Docker 18.09) is the first engine with BuildKit. */
const FIRST_BUILDKIT_API = [1, 39];

async function chooseBuilder(docker: Dockerode, cliEnv: Readonly<Record<string, string | undefined>>, options: ImageBuilderOptions): Promise<BuilderChoice> {
  const version = await docker.version();
  const engine = `Docker ${version.Version}`;
  const classic = (reason: string): BuilderChoice => ({
    builder: "classic",
    reason,
    detail: `classic builder, because ${reason}`,
    heredocs: {
      supported: false,
      frontend: "the classic builder",
      fix: `Heredocs need BuildKit, and mlkube builds with the classic builder here because ${reason}. Or write the file in the build context and COPY it.`,
    },
  });
  if (options.builder === "classic") return classic("the classic builder was asked for");
  if (version.Os !== "linux") return classic(`the engine builds ${version.Os} images, which BuildKit does not`);
  const [major = 0, minor = 0] = (version.ApiVersion ?? "0.0").split(".").map(Number);
  if (major < (FIRST_BUILDKIT_API[0] ?? 1) || (major === FIRST_BUILDKIT_API[0] && minor < (FIRST_BUILDKIT_API[1] ?? 39)))
    return classic(`the engine (${engine}) predates BuildKit`);
  const found = await (options.findCli ?? ((env) => findBuildkitCli({ env })))({ ...process.env, ...cliEnv });
  if (!found.cli) return classic(found.reason);
  const engineMajor = Number(/^(\d+)\./.exec(version.Version ?? "")?.[1] ?? 0);
  const heredocs: HeredocSupport =
    engineMajor >= FIRST_MAJOR_WITH_HEREDOCS
      ? { supported: true }
      : {
          supported: false,
          frontend: `the Dockerfile frontend built into the engine (${engine})`,
          fix: "Add '# syntax=docker/dockerfile:1' as the first line of the Dockerfile (BuildKit then pulls that frontend image, so the engine needs registry access), or build on Docker Engine 23 or newer, whose built-in frontend reads heredocs.",
        };
  const how = found.cli.mode === "buildx" ? `${found.cli.path} buildx` : `${found.cli.path} ${found.cli.version} (its built-in BuildKit client)`;
  return { builder: "buildkit", cli: found.cli, detail: `BuildKit on ${engine} through ${how}${found.note ? `; ${found.note}` : ""}`, heredocs };
}

async function readDockerfile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UserError("dockerfile", `No Dockerfile at ${displayPath(path)}.`, {
        hint: "Add a Dockerfile to the model directory, or set build.dockerfile in mlkube.yaml (mlkube init scaffolds one).",
        cause,
      });
    }
    throw cause;
  }
}

/** The Dockerfile's path inside the context, or undefined when it lies outside (then it travels in the tar). */
function relativeInside(contextDir: string, file: string): string | undefined {
  const path = relative(contextDir, file);
  if (path.startsWith("..") || path === "") return undefined;
  return path.split(sep).join("/");
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled();
}
