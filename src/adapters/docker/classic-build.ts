/**
 * The classic builder, through the Engine API: used only where BuildKit cannot be (see
 * ImageBuilder's choice). It reports "Step N/M" and cache hits as text, mapped here to events and
 * to the failing Dockerfile line.
 */
import type Dockerode from "dockerode";
import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { displayPath } from "../../config/errors.js";
import { UserError } from "../../errors.js";
import type { BuildEvent } from "./build.js";
import type { DockerfileInstruction } from "./dockerfile-check.js";
import { cancelled, oneLine } from "./build-text.js";

interface ClassicBuildInput {
  context: Readable;
  dockerfileName: string;
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
  labels: Readonly<Record<string, string>>;
  instructions: readonly DockerfileInstruction[];
  /** Why the classic builder builds, for the hint of an error only BuildKit would avoid. */
  reason: string;
  signal?: AbortSignal | undefined;
  onEvent: (event: BuildEvent) => void;
}

export async function runClassicBuild(docker: Dockerode, input: ClassicBuildInput): Promise<BuildProgress> {
  const { signal } = input;
  const stream = await docker
    .buildImage(input.context, {
      dockerfile: input.dockerfileName,
      buildargs: { ...input.buildArgs },
      target: input.target ?? "",
      labels: { ...input.labels },
      rm: true,
      forcerm: true,
      version: "1",
      abortSignal: signal,
    } as Dockerode.ImageBuildOptions)
    .catch((error: unknown) => {
      input.context.destroy();
      throw translateStartError(error, signal, input.dockerfile);
    });
  return followBuild(stream, input);
}

interface BuildProgress {
  imageId: string;
  totalSteps: number;
  cachedSteps: number;
}

/** Reads the engine's JSON-lines build stream into events; rejects with the failing instruction. */
function followBuild(stream: NodeJS.ReadableStream, input: ClassicBuildInput): Promise<BuildProgress> {
  const { instructions, onEvent, signal } = input;
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
        failure = stepFailure(engineMessage, currentStep, totalSteps, instructions, recentOutput, input.reason);
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
      if (!imageId)
        return reject(
          new UserError("build", "The Docker engine ended the build without producing an image.", {
            details: recentOutput,
            hint: "Run the same build with 'docker build' to see the engine's full output.",
          }),
        );
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
  reason: string,
): UserError {
  // Engine step numbers count every instruction in order, leading ARGs included.
  const instruction = step > 0 ? instructions[step - 1] : undefined;
  const where = instruction ? `Step ${step}/${totalSteps} (Dockerfile line ${instruction.line}: ${oneLine(instruction.text)})` : "The build";
  return new UserError("build", `${where} failed: ${engineMessage}`, {
    details: recentOutput.slice(-10),
    hint: /requires BuildKit/i.test(engineMessage)
      ? `The Dockerfile is right: ${instruction ? `line ${instruction.line}'s ` : ""}${/--mount/.test(engineMessage) ? "RUN --mount" : "this feature"} needs BuildKit, and mlkube builds with the classic builder here because ${reason}.`
      : instruction
        ? `Fix the ${instruction.keyword} instruction at line ${instruction.line} of the Dockerfile, then save to rebuild.`
        : "Check the Dockerfile and the build output above.",
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
