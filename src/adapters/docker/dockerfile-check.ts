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

/**
 * The images a Dockerfile builds FROM, as the engine resolves them: ARGs declared before the first
 * FROM (their defaults, overridden by --build-arg) substituted; `scratch` and earlier stages left out.
 */
export function baseImages(text: string, buildArgs: Readonly<Record<string, string>> = {}): string[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const instruction of readInstructions(text)) {
    const words = instruction.text.split(/\s+/).slice(1);
    if (instruction.keyword === "ARG" && !seenFrom) {
      for (const word of words) {
        const [name = "", ...value] = word.split("=");
        args.set(name, buildArgs[name] ?? unquote(value.join("=")));
      }
    }
    if (instruction.keyword !== "FROM") continue;
    seenFrom = true;
    const [image, as, stage] = words.filter((word) => !word.startsWith("--"));
    if (!image) continue;
    const resolved = image.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_match, braced?: string, fallback?: string, bare?: string) => {
      const value = args.get((braced ?? bare) as string) ?? "";
      return value === "" && fallback !== undefined ? fallback : value;
    });
    if (resolved !== "" && resolved.toLowerCase() !== "scratch" && !stages.has(resolved.toLowerCase()) && !images.includes(resolved)) images.push(resolved);
    if (as?.toLowerCase() === "as" && stage) stages.add(stage.toLowerCase());
  }
  return images;
}

function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
}
