import type Dockerode from "dockerode";
import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../../errors.js";
import { EXTERNAL_DOCKERFILE_NAME, FileHashCache, contextDigest, listContext, packContext } from "./build-context.js";
import { checkDockerfile, type DockerfileInstruction } from "./dockerfile-check.js";

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
}

export type BuildEvent =
  | { type: "context"; bytesSent: number; files: number }
  | { type: "step"; step: number; totalSteps: number; instruction: string }
  | { type: "cache-hit"; step: number }
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
}

export interface BuildOptions {
  signal?: AbortSignal | undefined;
  onEvent?: ((event: BuildEvent) => void) | undefined;
}

/** Tags are the first 16 hex digits of the content digest: unique per content, never `latest`. */
export const TAG_LENGTH = 16;

/**
 * Builds images with the engine's builder through the Engine API. One instance per dev session
 * keeps file hashes between iterations.
 */
export class ImageBuilder {
  /** The hash cache can be shared with the file watcher, so each changed file is hashed once. */
  constructor(
    private readonly docker: Dockerode,
    private readonly hashes = new FileHashCache(),
  ) {}

  private readonly warned = new Set<string>();

  async build(request: BuildRequest, options: BuildOptions = {}): Promise<BuildResult> {
    const started = performance.now();
    const { signal, onEvent = () => undefined } = options;
    throwIfAborted(signal);
    for (const warning of request.warnings ?? []) {
      if (this.warned.has(warning)) continue;
      this.warned.add(warning);
      onEvent({ type: "output", line: warning });
    }

    const dockerfileText = await readDockerfile(request.dockerfile);
    const dockerfileName = relativeInside(request.contextDir, request.dockerfile);
    const instructions = checkDockerfile(dockerfileText, displayPath(request.dockerfile));
    const digestInputs = { dockerfileText, buildArgs: request.buildArgs, target: request.target };

    const listed = await listContext(request.contextDir, this.hashes);
    const listedTag = contextDigest({ entries: listed, ...digestInputs }).slice(0, TAG_LENGTH);
    const existing = await this.findImage(`${request.repository}:${listedTag}`);
    if (existing) {
      return { reference: `${request.repository}:${listedTag}`, tag: listedTag, imageId: existing, cached: true, durationMs: performance.now() - started, totalSteps: 0, cachedSteps: 0, contextBytes: 0 };
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

    const stream = await this.docker
      .buildImage(context.stream, {
        dockerfile: dockerfileName ?? EXTERNAL_DOCKERFILE_NAME,
        buildargs: { ...request.buildArgs },
        target: request.target ?? "",
        labels: { "dev.mlkube.managed": "true", ...request.labels },
        rm: true,
        forcerm: true,
        // The classic builder reports "Step N/M" and cache hits through the API; BuildKit over the
        // API needs a session protocol dockerode does not speak.
        version: "1",
        abortSignal: signal,
      } as Dockerode.ImageBuildOptions)
      .catch((error: unknown) => {
        context.stream.destroy();
        throw translateStartError(error, signal, request.dockerfile);
      });

    const progress = await followBuild(stream, instructions, onEvent, signal).finally(() => context.stream.destroy());
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

interface BuildProgress {
  imageId: string;
  totalSteps: number;
  cachedSteps: number;
}

/** Reads the engine's JSON-lines build stream into events; rejects with the failing instruction. */
function followBuild(
  stream: NodeJS.ReadableStream,
  instructions: readonly DockerfileInstruction[],
  onEvent: (event: BuildEvent) => void,
  signal: AbortSignal | undefined,
): Promise<BuildProgress> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    let imageId: string | undefined;
    let currentStep = 0;
    let totalSteps = 0;
    let cachedSteps = 0;
    let failure: UserError | undefined;
    const recentOutput: string[] = [];

    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(cancelled());
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    const handleMessage = (message: { stream?: string; aux?: { ID?: string }; error?: string; errorDetail?: { message?: string } }) => {
      if (message.aux?.ID) imageId = message.aux.ID;
      if (message.error || message.errorDetail) {
        const engineMessage = (message.errorDetail?.message ?? message.error ?? "").trim();
        failure = stepFailure(engineMessage, currentStep, totalSteps, instructions, recentOutput);
        return;
      }
      for (const rawLine of (message.stream ?? "").split("\n")) {
        const line = rawLine.replace(/\r$/, "");
        if (line.trim() === "") continue;
        const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
        if (step) {
          currentStep = Number(step[1]);
          totalSteps = Number(step[2]);
          onEvent({ type: "step", step: currentStep, totalSteps, instruction: step[3] ?? "" });
          continue;
        }
        if (line.trim() === "---> Using cache") {
          cachedSteps++;
          onEvent({ type: "cache-hit", step: currentStep });
          continue;
        }
        const built = /^Successfully built ([0-9a-f]+)$/.exec(line.trim());
        if (built && !imageId) imageId = built[1];
        recentOutput.push(line);
        if (recentOutput.length > 15) recentOutput.shift();
        onEvent({ type: "output", line });
      }
    };

    // A character's bytes can straddle two chunks: decoding each chunk alone would leave "�".
    const decoder = new StringDecoder("utf8");
    stream.on("data", (chunk: Buffer) => {
      buffered += decoder.write(chunk);
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (text) {
          try {
            handleMessage(JSON.parse(text));
          } catch {
            handleMessage({ stream: text });
          }
        }
        newline = buffered.indexOf("\n");
      }
    });
    stream.on("error", (error: Error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(signal?.aborted ? cancelled() : error);
    });
    stream.on("end", () => {
      signal?.removeEventListener("abort", onAbort);
      buffered += decoder.end();
      if (buffered.trim()) handleMessage({ stream: buffered });
      if (signal?.aborted) return reject(cancelled());
      if (failure) return reject(failure);
      if (!imageId) return reject(new UserError("build", "The Docker engine ended the build without producing an image.", { details: recentOutput, hint: "Run the same build with 'docker build' to see the engine's full output." }));
      resolve({ imageId, totalSteps, cachedSteps });
    });
  });
}

function stepFailure(
  engineMessage: string,
  step: number,
  totalSteps: number,
  instructions: readonly DockerfileInstruction[],
  recentOutput: readonly string[],
): UserError {
  // Engine step numbers count every instruction in order, leading ARGs included.
  const instruction = step > 0 ? instructions[step - 1] : undefined;
  const where = instruction ? `Step ${step}/${totalSteps} (Dockerfile line ${instruction.line}: ${oneLine(instruction.text)})` : "The build";
  return new UserError("build", `${where} failed: ${engineMessage}`, {
    details: recentOutput.slice(-10),
    hint: instruction ? `Fix the ${instruction.keyword} instruction at line ${instruction.line} of the Dockerfile, then save to rebuild.` : "Check the Dockerfile and the build output above.",
  });
}

function translateStartError(error: unknown, signal: AbortSignal | undefined, dockerfile: string): unknown {
  if (signal?.aborted) return cancelled();
  const status = (error as { statusCode?: number }).statusCode;
  const json = (error as { json?: { message?: string } }).json;
  const message = json?.message ?? (error as Error).message ?? String(error);
  if (status === 400 || status === 500) {
    const line = /line (\d+)/.exec(message)?.[1];
    return new UserError("dockerfile", `The Docker engine rejected ${displayPath(dockerfile)}${line ? ` at line ${line}` : ""}: ${message}`, {
      hint: `Fix ${displayPath(dockerfile)}${line ? ` line ${line}` : ""}; 'docker build' reports the same.`,
      cause: error,
    });
  }
  const code = (error as { code?: string }).code;
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES") {
    return new UserError("docker-unavailable", `Lost the Docker engine while starting the build (${code}).`, {
      hint: "Check that the engine runs ('docker info') and that DOCKER_HOST points at it.",
      cause: error,
    });
  }
  return error;
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

function displayPath(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd.startsWith("..") ? path : fromCwd;
}

function oneLine(text: string): string {
  // Counted in code points: cutting UTF-16 units could split an emoji's pair, drawn as "�".
  const flat = [...text.replace(/\\\s*\n/g, " ").replace(/\s+/g, " ")];
  return flat.length > 80 ? `${flat.slice(0, 77).join("")}...` : flat.join("");
}

function cancelled(): UserError {
  return new UserError("cancelled", "The build was cancelled.");
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled();
}
