import { DockerfileParser } from "dockerfile-ast";
import { closest } from "../../core/suggest.js";
import { UserError } from "../../errors.js";

const KNOWN_INSTRUCTIONS = new Set([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
  "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);

export interface DockerfileInstruction {
  keyword: string;
  /** 1-based line where the instruction starts. */
  line: number;
  text: string;
}

/** The instructions in order, for mapping the engine's "Step N/M" back to a Dockerfile line. */
export function readInstructions(text: string): DockerfileInstruction[] {
  return DockerfileParser.parse(text)
    .getInstructions()
    .map((instruction) => ({
      keyword: instruction.getKeyword().toUpperCase(),
      line: instruction.getRange().start.line + 1,
      text: instruction.getTextContent().trim(),
    }));
}

/**
 * Catches the Dockerfile mistakes that stop a build before it starts, before a large context is
 * uploaded, and says where they are. The engine's own parser still has the last word.
 */
export function checkDockerfile(text: string, displayPath: string): DockerfileInstruction[] {
  const instructions = readInstructions(text);
  const problems: string[] = [];
  for (const instruction of instructions) {
    if (!KNOWN_INSTRUCTIONS.has(instruction.keyword)) {
      const column = 1 + (text.split(/\r?\n/)[instruction.line - 1]?.search(/\S/) ?? 0);
      problems.push(`${displayPath}:${instruction.line}:${column} unknown instruction '${instruction.keyword}'${suggestInstruction(instruction.keyword)}`);
    }
  }
  const firstReal = instructions.find((instruction) => instruction.keyword !== "ARG");
  if (!firstReal) {
    problems.push(`${displayPath}: has no FROM instruction`);
  } else if (firstReal.keyword !== "FROM" && problems.length === 0) {
    problems.push(`${displayPath}:${firstReal.line}:1 the first instruction must be FROM (only ARG may come before it), found ${firstReal.keyword}`);
  }
  if (problems.length > 0) {
    throw new UserError("dockerfile", `${displayPath} does not parse.`, {
      details: problems,
      hint: `Fix the line named above in ${displayPath}; 'docker build' would reject it too.`,
    });
  }
  return instructions;
}

function suggestInstruction(keyword: string): string {
  const best = closest(keyword, [...KNOWN_INSTRUCTIONS]);
  return best ? ` (did you mean ${best}?)` : "";
}
