import type Dockerode from "dockerode";
import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import { UserError } from "../../errors.js";
import { EXTERNAL_DOCKERFILE_NAME, FileHashCache, contextDigest, listContext, packContext } from "./build-context.js";
import { cancelled, displayPath } from "./build-text.js";
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

export interface BuildResult {
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

export interface BuildOptions {
  signal?: AbortSignal | undefined;
  onEvent?: ((event: BuildEvent) => void) | undefined;
}

/** Tags are the first 16 hex digits of the content digest: unique per content, never `latest`. */
export const TAG_LENGTH = 16;

/** The engine to build on: its API client, and the environment that points a docker CLI at it. */
export type BuildEngine = Pick<DockerConnection, "client" | "cliEnv">;

export interface ImageBuilderOptions {
  /** `classic` forces the classic builder (to compare); `auto` (the default) uses BuildKit wherever it can. */
  builder?: "auto" | "classic" | undefined;
  /** How to find a docker CLI that can run BuildKit; replaced in tests. */
  findCli?: ((env: Readonly<Record<string, string | undefined>>) => Promise<BuildkitCliChoice>) | undefined;
}

/** Which builder an ImageBuilder uses, decided once from the engine and the docker CLI. */
export type BuilderChoice =
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

    const listed = await listContext(request.contextDir, this.hashes);
    const listedTag = contextDigest({ entries: listed, ...digestInputs }).slice(0, TAG_LENGTH);
    const existing = await this.findImage(`${request.repository}:${listedTag}`);
    if (existing) {
      return { reference: `${request.repository}:${listedTag}`, tag: listedTag, imageId: existing, cached: true, durationMs: performance.now() - started, totalSteps: 0, cachedSteps: 0, contextBytes: 0, builder: choice.builder };
    }
    throwIfAborted(signal);

    let lastBytesEvent = 0;
    const context = packContext(request.contextDir, listed, dockerfileName === undefined ? dockerfileText : undefined, (bytes) => {
      // Byte counts arrive per tar chunk; report at most every 1 MB so a large model does not flood the UI.
      if (bytes - lastBytesEvent >= 1_000_000) {
        lastBytesEvent = bytes;
        onEvent({ type: "context", bytesSent: bytes, files: listed.length });
      }
    });
    const labels = { "dev.mlkube.managed": "true", ...request.labels };
    const common = { dockerfileName: dockerfileName ?? EXTERNAL_DOCKERFILE_NAME, buildArgs: request.buildArgs, target: request.target, labels, signal };

    let progress: { imageId: string; totalSteps: number; cachedSteps: number };
    try {
      if (choice.builder === "buildkit") {
        const outcome = await runBuildkitBuild({
          ...common,
          cli: choice.cli,
          env: { ...this.cliEnv, ...Object.fromEntries(secrets.flatMap((secret) => (secret.env !== undefined ? [[secret.env, secret.value]] : []))) },
          context: context.stream,
          secrets,
          onProgress: (event) => onEvent(event.type === "step" ? { type: "progress", step: { ...event.step, error: event.step.error && mask(event.step.error) } } : { type: "output", line: mask(event.line) }),
        });
        if (!outcome.imageId) {
          throw buildkitFailure({ reader: outcome.reader, outputOf: outcome.outputOf, instructions, dockerfileText, dockerfilePath: displayPath(request.dockerfile), contextPath: displayPath(request.contextDir), mask });
        }
        const steps = outcome.reader.instructionSteps();
        // The ID as the engine's own API names the image (with the containerd store, a manifest digest).
        const imageId = (await this.docker.getImage(outcome.imageId).inspect()).Id;
        progress = { imageId, totalSteps: steps.length, cachedSteps: steps.filter((step) => step.status === "cached").length };
      } else {
        progress = await runClassicBuild(this.docker, { ...common, context: context.stream, dockerfile: request.dockerfile, instructions, reason: choice.reason, onEvent });
      }
    } finally {
      context.stream.destroy();
    }
    const sent = await context.packed;
    onEvent({ type: "context", bytesSent: sent.bytes, files: sent.entries.length });

    // Tag with the digest of what was actually sent: if a file changed while we packed, the tag
    // names the content in the image, not the content we listed.
    const tag = contextDigest({ entries: sent.entries, ...digestInputs }).slice(0, TAG_LENGTH);
    throwIfAborted(signal);
    await this.docker.getImage(progress.imageId).tag({ repo: request.repository, tag });
    return {
      reference: `${request.repository}:${tag}`,
      tag,
      imageId: progress.imageId,
      cached: false,
      durationMs: performance.now() - started,
      totalSteps: progress.totalSteps,
      cachedSteps: progress.cachedSteps,
      contextBytes: sent.bytes,
      builder: choice.builder,
    };
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
    heredocs: { supported: false, frontend: "the classic builder", fix: `Heredocs need BuildKit, and mlkube builds with the classic builder here because ${reason}. Or write the file in the build context and COPY it.` },
  });
  if (options.builder === "classic") return classic("the classic builder was asked for");
  if (version.Os !== "linux") return classic(`the engine builds ${version.Os} images, which BuildKit does not`);
  const [major = 0, minor = 0] = (version.ApiVersion ?? "0.0").split(".").map(Number);
  if (major < (FIRST_BUILDKIT_API[0] ?? 1) || (major === FIRST_BUILDKIT_API[0] && minor < (FIRST_BUILDKIT_API[1] ?? 39))) return classic(`the engine (${engine}) predates BuildKit`);
  const found = await (options.findCli ?? ((env) => findBuildkitCli({ env })))({ ...process.env, ...cliEnv });
  if (!found.cli) return classic(found.reason);
  const engineMajor = Number(/^(\d+)\./.exec(version.Version ?? "")?.[1] ?? 0);
  const heredocs: HeredocSupport = engineMajor >= FIRST_MAJOR_WITH_HEREDOCS
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
