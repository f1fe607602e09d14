/**
 * A failed BuildKit build, said as the user can act on it: the Dockerfile line that failed, what
 * went wrong there, and a hint that is true for that error (a failing command, a COPY source the
 * context lacks, a secret mlkube.yaml does not provide, a `# syntax=` frontend that cannot be pulled).
 */
import { UserError } from "../../errors.js";
import type { BuildStep, PlainProgressReader } from "./buildkit-progress.js";
import { oneLine } from "./build-text.js";
import { syntaxDirective, type DockerfileInstruction } from "./dockerfile-check.js";

interface FailureContext {
  reader: PlainProgressReader;
  /** The failing step's last output lines, secrets already masked. */
  outputOf(step: BuildStep): readonly string[];
  instructions: readonly DockerfileInstruction[];
  dockerfileText: string;
  /** The Dockerfile as the user names it (relative to the working directory where possible). */
  dockerfilePath: string;
  contextPath: string;
  /** Masks secret values in text that goes into the error. */
  mask(text: string): string;
}

export function buildkitFailure(context: FailureContext): UserError {
  const { reader, mask } = context;
  const failed = reader.all().find((step) => step.status === "failed");
  const errorLine = mask(failed?.error ?? summaryLine(reader.trailer) ?? "the build failed without a message");

  const frontend = syntaxDirective(context.dockerfileText);
  if (
    frontend &&
    (failed?.name.startsWith("resolve image config for") ||
      reader.trailer.some((line) => /frontend gateway|resolve image config|failed to resolve source metadata/.test(line)))
  ) {
    return new UserError(
      "dockerfile",
      `The Dockerfile frontend '${frontend}' named by the '# syntax=' line of ${context.dockerfilePath} could not be pulled: ${errorLine}`,
      {
        hint: `The frontend image ${frontend} must be pullable by the Docker engine (check its network and 'docker login'), or remove the '# syntax=' line to build with the engine's built-in frontend.`,
      },
    );
  }

  if (failed?.instruction !== undefined) {
    const instruction = locate(failed, context);
    const where = instruction ? `Dockerfile line ${instruction.line} (${oneLine(instruction.text)})` : `The step ${failed.name}`;
    return new UserError("build", `${where} failed: ${errorLine}`, {
      details: context.outputOf(failed).slice(-10).map(mask),
      hint: hintFor(failed, errorLine, instruction, context),
    });
  }

  const parse = reader.trailer.map((line) => /dockerfile parse error (?:on )?line (\d+): (.*)$/.exec(line)).find(Boolean);
  if (parse) {
    return new UserError("dockerfile", `${context.dockerfilePath}:${parse[1]}: ${mask(parse[2] ?? "")}`, {
      hint: `Fix line ${parse[1]} of ${context.dockerfilePath}; 'docker build' rejects it too.`,
    });
  }
  return new UserError("build", `The build failed: ${errorLine}`, {
    details: reader.trailer.slice(-10).map(mask),
    hint: "Check the Dockerfile and the build output above.",
  });
}

/**
 * The Dockerfile instruction a step ran: buildx prints the line ("Dockerfile:7"); Docker 20.10
 * does not, so the step's instruction text is matched against the Dockerfile's, in its stage.
 */
function locate(step: BuildStep, context: FailureContext): DockerfileInstruction | undefined {
  const printed = context.reader.trailer.map((line) => /^Dockerfile:(\d+)$/.exec(line.trim())).find(Boolean);
  if (printed) {
    const line = Number(printed[1]);
    return (
      context.instructions.find((instruction) => instruction.line === line) ?? {
        keyword: step.instruction?.split(/\s/)[0]?.toUpperCase() ?? "",
        line,
        text: step.instruction ?? "",
      }
    );
  }
  const wanted = normalise(step.instruction ?? "");
  const matches = context.instructions.filter(
    (instruction) => normalise(instruction.text) === wanted || (instruction.keyword === "FROM" && wanted.startsWith("FROM ")),
  );
  if (matches.length <= 1) return matches[0];
  const inStage = matches.filter((instruction) => stageOf(instruction, context.instructions) === step.stage);
  return inStage[0] ?? matches[0];
}

function stageOf(instruction: DockerfileInstruction, all: readonly DockerfileInstruction[]): string | undefined {
  const from = [...all].reverse().find((candidate) => candidate.keyword === "FROM" && candidate.line <= instruction.line);
  const name = from ? /\sAS\s+(\S+)\s*$/i.exec(from.text)?.[1] : undefined;
  if (name) return name;
  const index = all.filter((candidate) => candidate.keyword === "FROM").indexOf(from as DockerfileInstruction);
  return all.filter((candidate) => candidate.keyword === "FROM").length > 1 ? `stage-${index}` : undefined;
}

function hintFor(step: BuildStep, message: string, instruction: DockerfileInstruction | undefined, context: FailureContext): string {
  const at = instruction ? ` at line ${instruction.line}` : "";
  const exit = /exit code: (\d+)/.exec(message)?.[1];
  const keyword = instruction?.keyword ?? step.instruction?.split(/\s/)[0]?.toUpperCase();
  if (exit !== undefined && keyword === "RUN") {
    return `The command${at} exited with code ${exit}; its last output is shown above. Fix the command (or what it needs), then save to rebuild.`;
  }
  const secret = /secret (\S+?):? not found/.exec(message)?.[1];
  if (secret) {
    return `The RUN${at} mounts the secret '${secret}', which the build does not provide: add it to build.secrets in mlkube.yaml (id: ${secret}, with env: or file:), or mark the mount required=false.`;
  }
  if ((keyword === "COPY" || keyword === "ADD") && /not found/.test(message)) {
    return `A source of the ${keyword}${at} is not in the build context: paths are relative to ${context.contextPath}, and .dockerignore may exclude it.`;
  }
  return `Fix the ${keyword ?? "failing"} instruction${at} of ${context.dockerfilePath}, then save to rebuild.`;
}

/** The error summary's last meaningful line: buildx's "ERROR: failed to solve: …", 20.10's bare line. */
function summaryLine(trailer: readonly string[]): string | undefined {
  const lines = trailer.filter(
    (line) => !/^-+$/.test(line.trim()) && !/^\s*>/.test(line) && !/^\s*(>>>)?\s*\d+ \|/.test(line) && !/^Dockerfile:\d+$/.test(line.trim()),
  );
  return lines.at(-1)?.replace(/^ERROR: /, "");
}

function normalise(text: string): string {
  return text
    .replace(/\\\s*\n/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}
