import { loadConfig, parseBuildArgs } from "../config/load.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { ImageBuilder, type BuildEvent } from "../adapters/docker/build.js";
import { buildRequestFor } from "../adapters/docker/build-request.js";
import type { BuildStep } from "../adapters/docker/buildkit-progress.js";
import { formatBytes, formatMs } from "../ui/dev/format.js";

interface BuildCommandOptions {
  buildArg: string[];
  json?: boolean;
}

/** `mlkube build [DIR]`: one build; the reference on stdout, progress on stderr. */
export async function runBuildCommand(dir: string, options: BuildCommandOptions): Promise<number> {
  const config = await loadConfig(dir, { buildArgs: parseBuildArgs(options.buildArg) });
  const docker = connectDocker();
  await ensureDockerReachable(docker);

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await new ImageBuilder(docker).build(buildRequestFor(config), {
      signal: controller.signal,
      // With --json stdout is for the result; warnings still go to stderr.
      onEvent: options.json
        ? (event) => event.type === "output" && event.line.startsWith("warning: ") && process.stderr.write(`${event.line}\n`)
        : printProgress,
    });
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ reference: result.reference, imageId: result.imageId, cached: result.cached, durationMs: Math.round(result.durationMs), totalSteps: result.totalSteps, cachedSteps: result.cachedSteps, contextBytes: result.contextBytes, builder: result.builder })}\n`,
      );
    } else {
      const how = result.cached
        ? "unchanged, image already built"
        : `built in ${(result.durationMs / 1000).toFixed(1)} s, ${result.cachedSteps}/${result.totalSteps} steps from cache`;
      process.stderr.write(`${how}\n`);
      process.stdout.write(`${result.reference}\n`);
    }
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function printProgress(event: BuildEvent): void {
  if (event.type === "builder") process.stderr.write(`builder: ${event.detail}\n`);
  else if (event.type === "step") process.stderr.write(`step ${event.step}/${event.totalSteps}: ${event.instruction}\n`);
  else if (event.type === "cache-hit") process.stderr.write(`  (cached)\n`);
  else if (event.type === "progress") {
    // BuildKit runs independent stages side by side: a step is printed whole, when it finished.
    const line = finishedStepLine(event.step);
    if (line) process.stderr.write(`${line}\n`);
  } else if (event.type === "output") process.stderr.write(event.line.startsWith("warning: ") ? `${event.line}\n` : `  ${event.line}\n`);
}

/** `cached  [2/6] WORKDIR /app`, `12.3s   [4/6] RUN pip install …`; BuildKit's own quick work is left out. */
function finishedStepLine(step: BuildStep): string | undefined {
  if (step.status === "running") return undefined;
  if (step.instruction === undefined && step.status !== "failed" && (step.ms ?? 0) < 100) return undefined;
  const how = step.status === "cached" ? "cached" : step.status === "failed" ? "FAILED" : formatMs(step.ms ?? 0);
  const bytes = step.bytes && step.bytes >= 1_000_000 ? ` (${formatBytes(step.bytes)})` : "";
  return `${how.padEnd(7)} ${step.name}${bytes}`;
}
