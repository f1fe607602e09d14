/**
 * One BuildKit build through the docker CLI: the context tar streamed on stdin (never held in
 * memory), plain progress read line by line from stderr, the image ID from --iidfile. Cancelling
 * stops the CLI, which ends its session with the engine, and BuildKit then cancels the solve
 * (a RUN still running is killed: test/integration/buildkit.test.ts checks that nothing is left).
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../../errors.js";
import type { BuildkitCli } from "./buildkit-cli.js";
import { PlainProgressReader, type BuildStep, type ProgressEvent } from "./buildkit-progress.js";

/** Where a build secret's value comes from; the value itself never travels in argv. */
export interface BuildSecretSource {
  id: string;
  /** Read from this environment variable of mlkube's own environment... */
  env?: string | undefined;
  /** ...or from this file (absolute path). */
  file?: string | undefined;
}

export interface BuildkitBuildInput {
  cli: BuildkitCli;
  /** Selects the engine (DOCKER_HOST or DOCKER_CONTEXT, see dockerCliEnv); merged over process.env. */
  env: Readonly<Record<string, string | undefined>>;
  context: Readable;
  /** The Dockerfile's path inside the context tar. */
  dockerfileName: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
  labels: Readonly<Record<string, string>>;
  secrets: readonly BuildSecretSource[];
  signal?: AbortSignal | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

export interface BuildkitBuildOutcome {
  reader: PlainProgressReader;
  /** The last output lines of each step, for an error. */
  outputOf(step: BuildStep): readonly string[];
  /** Set when the build succeeded. */
  imageId?: string | undefined;
  exitCode: number;
}

const OUTPUT_LINES_KEPT = 15;

/** The docker CLI's arguments for this build; `-` reads the context tar from stdin. */
export function buildkitArgs(input: Omit<BuildkitBuildInput, "context" | "env" | "signal" | "onProgress">, iidFile: string): string[] {
  const args = input.cli.mode === "buildx" ? ["buildx", "build", "--load"] : ["build"];
  args.push("--progress=plain", "--iidfile", iidFile, "-f", input.dockerfileName);
  if (input.target) args.push("--target", input.target);
  for (const [key, value] of Object.entries(input.buildArgs)) args.push("--build-arg", `${key}=${value}`);
  for (const [key, value] of Object.entries(input.labels)) args.push("--label", `${key}=${value}`);
  for (const secret of input.secrets) args.push("--secret", secretSpec(secret));
  args.push("-");
  return args;
}

/** `id=pip-token,env=PIP_TOKEN` or `id=netrc,src=/home/u/.netrc`, quoted as CSV where a path holds a comma. */
function secretSpec(secret: BuildSecretSource): string {
  const source = secret.env !== undefined ? `env=${secret.env}` : `src=${secret.file ?? ""}`;
  return [`id=${secret.id}`, source].map((field) => (field.includes(",") || field.includes('"') ? `"${field.replace(/"/g, '""')}"` : field)).join(",");
}

export async function runBuildkitBuild(input: BuildkitBuildInput): Promise<BuildkitBuildOutcome> {
  const dir = await mkdtemp(join(tmpdir(), "mlkube-build-"));
  const iidFile = join(dir, "image-id");
  const reader = new PlainProgressReader();
  const outputs = new Map<number, string[]>();
  const onProgress = input.onProgress ?? (() => undefined);
  let stopInterrupting: () => void = () => undefined;
  try {
    const child = execa(input.cli.path, buildkitArgs(input, iidFile), {
      env: { ...process.env, ...input.env, ...(input.cli.mode === "builtin" ? { DOCKER_BUILDKIT: "1" } : {}) },
      extendEnv: false,
      stdin: "pipe",
      reject: false,
      // SIGINT is the CLI's Ctrl-C: it cancels the build with the engine before it exits.
      killSignal: "SIGINT",
      forceKillAfterDelay: 5_000,
    });
    // Sent once only, when the build is cancelled or mlkube exits during it: a second signal makes
    // the CLI exit at once (containerd's appcontext), before the engine has stopped the running
    // step, which then runs to its end. (execa's own cleanup would send that second one on a
    // forced exit, so it is not used.)
    let interrupted = false;
    const interrupt = () => {
      if (interrupted) return;
      interrupted = true;
      child.kill("SIGINT");
    };
    input.signal?.addEventListener("abort", interrupt, { once: true });
    if (input.signal?.aborted) interrupt();
    process.once("exit", interrupt);
    stopInterrupting = () => {
      input.signal?.removeEventListener("abort", interrupt);
      process.off("exit", interrupt);
    };
    // The CLI may stop reading (a Dockerfile that does not parse): a closed pipe is its answer, not ours.
    child.stdin?.on("error", () => input.context.destroy());
    input.context.on("error", (error) => child.stdin?.destroy(error));
    input.context.pipe(child.stdin as NodeJS.WritableStream);

    const handle = (line: string) => {
      for (const event of reader.read(line)) {
        if (event.type === "output") {
          const kept = outputs.get(event.step.id) ?? [];
          kept.push(event.line);
          if (kept.length > OUTPUT_LINES_KEPT) kept.shift();
          outputs.set(event.step.id, kept);
        }
        onProgress(event);
      }
    };
    eachLine(child.stderr, handle);
    eachLine(child.stdout, handle);
    const result = await child;
    input.context.destroy();
    if (input.signal?.aborted) throw new UserError("cancelled", "The build was cancelled.");
    if ((result as { code?: string }).code === "ENOENT") {
      throw new UserError("missing-tool", `The docker CLI at ${input.cli.path} is gone.`, { hint: "Reinstall Docker, or make sure 'docker' is on the PATH." });
    }
    const imageId = result.exitCode === 0 ? (await readFile(iidFile, "utf8").catch(() => "")).trim() || undefined : undefined;
    return { reader, outputOf: (step) => outputs.get(step.id) ?? [], imageId, exitCode: result.exitCode ?? -1 };
  } finally {
    stopInterrupting();
    await rm(dir, { recursive: true, force: true });
  }
}

function eachLine(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  let pending = "";
  const decoder = new StringDecoder("utf8");
  stream?.on("data", (chunk: Buffer) => {
    pending += decoder.write(chunk);
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream?.on("end", () => {
    pending += decoder.end();
    if (pending !== "") onLine(pending);
  });
}
