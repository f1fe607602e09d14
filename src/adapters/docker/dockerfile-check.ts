import { DockerfileParser } from "dockerfile-ast";
import { closest } from "../../core/suggest.js";
import { UserError } from "../../errors.js";

const KNOWN_INSTRUCTIONS = new Set([
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
]);

export interface DockerfileInstruction {
  keyword: string;
  /** 1-based line where the instruction starts. */
  line: number;
  text: string;
}

/**
 * The instructions in order, for mapping the engine's "Step N/M" back to a Dockerfile line. A
 * heredoc's body is the instruction's content, not instructions of its own (the parser used here
 * predates heredocs and would read each body line as one).
 */
export function readInstructions(text: string): DockerfileInstruction[] {
  const bodies = heredocs(text).map((heredoc) => heredoc.body);
  return DockerfileParser.parse(text)
    .getInstructions()
    .map((instruction) => ({
      keyword: instruction.getKeyword().toUpperCase(),
      line: instruction.getRange().start.line + 1,
      text: instruction.getTextContent().trim(),
    }))
    .filter((instruction) => !bodies.some(([first, last]) => instruction.line >= first && instruction.line <= last));
}

interface Heredoc {
  /** 1-based line of the instruction that opens it. */
  line: number;
  keyword: string;
  /** First and last line of the body, the terminator included. */
  body: [number, number];
}

/**
 * The heredocs (`COPY <<EOT /app/x.txt`, `RUN <<EOF`, `RUN cat <<-EOF > f`) in a Dockerfile, as
 * Dockerfile frontend 1.4+ reads them: the body runs to a line that is the terminator alone
 * (leading tabs allowed with `<<-`).
 */
export function heredocs(text: string): Heredoc[] {
  const lines = text.split(/\r?\n/);
  const found: Heredoc[] = [];
  for (let index = 0; index < lines.length; index++) {
    const opening = /^\s*(RUN|COPY|ADD)\s/i.exec(lines[index] ?? "");
    if (!opening) continue;
    const markers = [...(lines[index] ?? "").matchAll(/<<(-?)(["']?)([A-Za-z_][\w.-]*)\2/g)];
    if (markers.length === 0) continue;
    let end = index;
    for (const marker of markers) {
      const terminator = marker[3] ?? "";
      let cursor = end + 1;
      while (cursor < lines.length && (marker[1] === "-" ? (lines[cursor] ?? "").replace(/^\t+/, "") : lines[cursor]) !== terminator) cursor++;
      end = Math.min(cursor, lines.length - 1);
    }
    found.push({ line: index + 1, keyword: (opening[1] ?? "").toUpperCase(), body: [index + 2, end + 1] });
    index = end;
  }
  return found;
}

/**
 * The `# syntax=IMAGE` parser directive: only at the very top, before any instruction, blank line
 * or other comment ends the directives (moby/buildkit frontend/dockerfile/parser/directives.go).
 */
export function syntaxDirective(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const directive = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(line);
    if (!directive) return undefined;
    if (directive[1]?.toLowerCase() === "syntax") return directive[2];
  }
  return undefined;
}

/** Whether the builder's Dockerfile frontend reads heredocs, and if not, why. */
export type HeredocSupport = { supported: true } | { supported: false; frontend: string; fix: string };

/**
 * Catches the Dockerfile mistakes that stop a build before it starts, before a large context is
 * uploaded, and says where they are. The engine's own parser still has the last word.
 */
export function checkDockerfile(text: string, displayPath: string, heredocSupport: HeredocSupport = { supported: true }): DockerfileInstruction[] {
  const instructions = readInstructions(text);
  const problems: string[] = [];
  const firstHeredoc = heredocs(text)[0];
  // With a `# syntax=` line the frontend named there reads the Dockerfile, not the built-in one.
  if (firstHeredoc && !heredocSupport.supported && syntaxDirective(text) === undefined) {
    throw new UserError(
      "dockerfile",
      `${displayPath}:${firstHeredoc.line}: the ${firstHeredoc.keyword} uses a heredoc (<<), which ${heredocSupport.frontend} is too old to read.`,
      {
        hint: heredocSupport.fix,
      },
    );
  }
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
