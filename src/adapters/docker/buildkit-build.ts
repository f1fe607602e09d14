/**
 * One BuildKit build through the docker CLI: the context is the model directory itself, which the
 * CLI syncs to BuildKit (file by file, only what changed since the last build; .dockerignore
 * applied by the CLI, with the same rules mlkube lists the context by), plain progress read line
 * by line from stderr, the image ID from --iidfile.
 *
 * Not a tar on stdin, as the classic builder takes: BuildKit receives such a tar whole on every
 * build (then copies it: `copy /context /`), so a code edit next to a 1 GB model moved 1 GB each
 * time (31-35 s a build here, against 7-8 s from the directory, where 1.2 kB moved), and a
 * `# syntax=` frontend cannot read it at all: its second read of the one-shot upload fails with
 * "no http response from session" (seen with buildx 0.13 on Docker 20.10 and 26, and with 20.10's
 * own client). Cancelling
 * stops the CLI, and the engine then cancels the solve, a RUN still running included
 * (test/integration/buildkit.test.ts and the Ctrl-C tests of test/e2e/dev-tui.test.ts check that
 * nothing is left).
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

interface BuildkitBuildInput {
  cli: BuildkitCli;
  /** Selects the engine (DOCKER_HOST or DOCKER_CONTEXT, see dockerCliEnv); merged over process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** The build context: a directory. */
  contextDir: string;
  /** The Dockerfile, absolute; it may lie outside the context, as with `docker build -f`. */
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
  labels: Readonly<Record<string, string>>;
  secrets: readonly BuildSecretSource[];
  signal?: AbortSignal | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

interface BuildkitBuildOutcome {
  reader: PlainProgressReader;
  /** The last output lines of each step, for an error. */
  outputOf(step: BuildStep): readonly string[];
  /** Set when the build succeeded. */
  imageId?: string | undefined;
  exitCode: number;
}

const OUTPUT_LINES_KEPT = 15;
/** How long a cancelled build's CLI gets to end by itself before it is killed. */
const CANCEL_GRACE_MS = 1_000;

/** The docker CLI's arguments for this build. */
export function buildkitArgs(input: Omit<BuildkitBuildInput, "env" | "signal" | "onProgress">, iidFile: string): string[] {
  const args = input.cli.mode === "buildx" ? ["buildx", "build", "--load"] : ["build"];
  args.push("--progress=plain", "--iidfile", iidFile, "-f", input.dockerfile);
  if (input.target) args.push("--target", input.target);
  for (const [key, value] of Object.entries(input.buildArgs)) args.push("--build-arg", `${key}=${value}`);
  for (const [key, value] of Object.entries(input.labels)) args.push("--label", `${key}=${value}`);
  for (const secret of input.secrets) args.push("--secret", secretSpec(secret));
  // `--` so that a directory named like an option is still the context.
  args.push("--", input.contextDir);
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
      stdin: "ignore",
      reject: false,
      // Its own process group: a Ctrl-C typed in the terminal reaches mlkube only, which then
      // cancels the build (below). Not execa's cleanup either: it would signal SIGINT on exit.
      detached: true,
      cleanup: false,
      // SIGINT is the CLI's Ctrl-C: it asks the engine to cancel the build (buildx with a directory
      // context: RUN cancelled, CLI gone in 1.2 s here). A CLI that waits for the build instead
      // (docker/cli#1761, seen with 20.10's client and a context on stdin) gets SIGKILL after the
      // grace period: the engine stops the build, running step included, once its connection closes.
      killSignal: "SIGINT",
      forceKillAfterDelay: CANCEL_GRACE_MS,
    });
    const cancel = () => child.kill("SIGINT");
    // mlkube exiting during a build (a forced exit, a crash) has no time for the grace period.
    const killOnExit = () => child.kill("SIGKILL");
    input.signal?.addEventListener("abort", cancel, { once: true });
    if (input.signal?.aborted) cancel();
    process.once("exit", killOnExit);
    stopInterrupting = () => {
      input.signal?.removeEventListener("abort", cancel);
      process.off("exit", killOnExit);
    };
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
