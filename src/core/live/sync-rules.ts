/**
 * Zero-configuration sync rules: which build-context files end up where in the image, read from
 * the COPY and ADD instructions of the stage docker build builds (the idea of Skaffold's
 * `sync.infer`, with Docker's own path rules). A file a rule covers can be copied into the running
 * container instead of rebuilding; everything else needs a build.
 *
 * What counts, and why:
 * - Only the built stage (the last, or build.target) and the stages it starts FROM (`FROM builder
 *   AS final` keeps builder's filesystem, so builder's copies are in the image at the same paths).
 *   Copies into other stages reach the image only through `COPY --from`, usually after a RUN
 *   transformed them, so a change to their sources needs a build.
 * - Not sources: `COPY --from` (another stage or image), heredocs (inline text), `ADD` of URLs and
 *   git repositories, `ADD` of a local archive (Docker unpacks it), `--parents` and `--exclude`
 *   (not modelled here), and paths whose variables have no value.
 * - Destinations: relative ones are resolved against WORKDIR (which may itself be relative and
 *   stack); a destination ending in `/`, `.`, taking several sources, or known to be a directory
 *   (a WORKDIR, or an earlier copy's destination directory) is a directory. A directory source
 *   puts its contents, not itself, into the destination, as Docker does.
 * - `$VAR` and `${VAR}` in paths are substituted from ARG (defaults, overridden by build args) and
 *   ENV, in both the shell and the JSON form.
 *
 * Limits: a RUN after a COPY that consumes the copied files (`pip install .`, a compile step) is
 * not detected; a base image's own directories are unknown, so `COPY app.py /srv` without a
 * trailing slash is taken as a file unless this Dockerfile makes /srv a directory (Docker copies
 * into it when the base image has /srv as a directory).
 */
import { JSONInstruction, type Instruction } from "dockerfile-ast";
import { builtStageIndex, parentStageIndex, parseStages, stageNames, StageVariables, type DockerfileStage } from "../../config/dockerfile-stages.js";
import { expand } from "../../config/dockerfile-variables.js";
import { contextRelative, normalizeAbsolute, resolveAgainst } from "./posix-path.js";

export interface SyncRule {
  /**
   * A path or a Docker wildcard pattern (`*`, `?`, `[...]`), relative to the build context, POSIX;
   * "." for the whole context. A directory stands for everything under it.
   */
  src: string;
  /**
   * Absolute container path. Ends with "/" when it is a directory that a source file is copied
   * into (keeping its name); otherwise a file source lands at exactly this path. A directory
   * source's contents land under it either way.
   */
  dest: string;
  /** Where the rule comes from, for messages: `Dockerfile:12 COPY app.py .` or `mlkube.yaml sync[0]`. */
  origin: string;
}

export interface InferOptions {
  /** The stage that is built (build.target); the last stage when undefined. */
  target?: string | undefined;
  /** Build argument values, which override ARG defaults as with docker build. */
  buildArgs?: Readonly<Record<string, string>>;
  /**
   * The working directory of the image the first stage starts FROM (`Config.WorkingDir` of
   * `docker image inspect`; "" there means "/"). Unknown by default: relative destinations before
   * the Dockerfile's first absolute WORKDIR then yield no rule.
   */
  baseWorkdir?: string | undefined;
  /** How to name the Dockerfile in origins and notes. Default: "Dockerfile". */
  displayPath?: string | undefined;
}

interface InferredSync {
  rules: SyncRule[];
  /** One line per COPY or ADD that gives no rule, saying why: `Dockerfile:4 COPY --from=builder /w /w: ...`. */
  notes: string[];
}

/** Archives ADD unpacks (Docker detects them by content; by name is as close as a pure reading gets). */
const ARCHIVE = /\.(tar|tgz|tbz2?|txz|tzst|gz|bz2|xz|zst|lz4)$/i;
const REMOTE = /^([a-z][a-z0-9+.-]*:\/\/|git@)/i;
const WILDCARD = /[*?[]/;

interface StageFacts {
  /** The working directory, or undefined when mlkube cannot tell it. */
  workdir: string | undefined;
  /** Why the working directory is unknown, for the notes. */
  workdirUnknown: string;
  env: ReadonlyMap<string, string>;
  /** Container paths known to be directories. */
  dirs: Set<string>;
  rules: SyncRule[];
  notes: LineNote[];
}

interface LineNote {
  line: number;
  text: string;
}

export function inferSyncRules(dockerfileText: string, options: InferOptions = {}): InferredSync {
  const { buildArgs = {}, target, displayPath = "Dockerfile" } = options;
  const { stages, globalArgs } = parseStages(dockerfileText, buildArgs);
  if (stages.length === 0) return { rules: [], notes: [`${displayPath} has no FROM instruction`] };
  const built = builtStageIndex(stages, target);
  if (built < 0) {
    const names = stageNames(stages);
    return { rules: [], notes: [`build.target "${target}" is not a stage of ${displayPath}${names.length > 0 ? ` (stages: ${names.join(", ")})` : ""}`] };
  }

  const lineage = new Set<number>();
  for (let index = built; index >= 0; index = parentStageIndex(stages, index)) lineage.add(index);

  const evaluate = (index: number): StageFacts => {
    const stage = stages[index] as DockerfileStage;
    const parent = parentStageIndex(stages, index);
    const inherited: StageFacts =
      parent >= 0
        ? evaluate(parent)
        : {
            workdir: stage.base === "scratch" ? "/" : options.baseWorkdir === undefined ? undefined : resolveAgainst("/", options.baseWorkdir),
            workdirUnknown: "the base image's working directory is unknown",
            env: new Map(),
            dirs: new Set(),
            rules: [],
            notes: [],
          };
    const facts: StageFacts = { ...inherited, dirs: new Set(inherited.dirs), rules: [...inherited.rules], notes: [...inherited.notes] };
    const variables = new StageVariables(buildArgs, globalArgs, inherited.env);
    if (facts.workdir !== undefined) addDirectory(facts.dirs, facts.workdir);

    for (const instruction of stage.template.getInstructions()) {
      if (variables.apply(instruction)) continue;
      const keyword = instruction.getKeyword().toUpperCase();
      if (keyword === "WORKDIR") {
        const written = instruction.getArgumentsContent() ?? "";
        const path = expand(unquote(written.trim()), variables.lookup);
        if (path === undefined) facts.workdirUnknown = `a variable in WORKDIR ${written.trim()} has no value`;
        facts.workdir =
          path === undefined
            ? undefined
            : path.startsWith("/")
              ? normalizeAbsolute(path)
              : facts.workdir === undefined
                ? undefined
                : resolveAgainst(facts.workdir, path);
        if (facts.workdir !== undefined) addDirectory(facts.dirs, facts.workdir);
      } else if ((keyword === "COPY" || keyword === "ADD") && instruction instanceof JSONInstruction) {
        const line = instruction.getRange().start.line + 1;
        const origin = `${displayPath}:${line} ${oneLine(instruction)}`;
        const copied = readCopy(instruction, keyword, facts, variables.lookup);
        for (const outcome of typeof copied === "string" ? [{ skipped: copied }] : copied) {
          if (outcome.rule) facts.rules.push({ ...outcome.rule, origin });
          if (outcome.skipped) facts.notes.push({ line, text: `${origin}: ${outcome.skipped}` });
        }
      }
    }
    return { ...facts, env: variables.env };
  };

  const result = evaluate(built);
  // Copies into stages the built one does not start from: say why their sources need a build.
  const elsewhere = stages.flatMap((stage, index): LineNote[] => {
    if (lineage.has(index)) return [];
    const where = stage.name ? `stage "${stage.name}"` : `stage ${index + 1}`;
    return stage.template.getInstructions().flatMap((instruction) => {
      const keyword = instruction.getKeyword().toUpperCase();
      if (keyword !== "COPY" && keyword !== "ADD") return [];
      const line = instruction.getRange().start.line + 1;
      return [{ line, text: `${displayPath}:${line} ${oneLine(instruction)}: copies into ${where}, which the built image does not start from` }];
    });
  });
  const notes = [...result.notes, ...elsewhere].sort((a, b) => a.line - b.line).map((note) => note.text);
  return { rules: result.rules, notes };
}

type CopyOutcome = { rule?: Omit<SyncRule, "origin">; skipped?: string };

/** The rules one COPY or ADD gives, or why it gives none. */
function readCopy(
  instruction: JSONInstruction,
  keyword: "COPY" | "ADD",
  facts: StageFacts,
  lookup: (name: string) => string | undefined,
): CopyOutcome[] | string {
  const flags = new Set(instruction.getFlags().map((flag) => flag.getName().toLowerCase()));
  if (flags.has("from")) return "copies from another stage or image, not from the build context";
  const unsupported = ["parents", "exclude"].find((flag) => flags.has(flag));
  if (unsupported) return `--${unsupported} is not modelled for sync; a change to these files rebuilds`;
  const words = copyWords(instruction);
  if (words.some((word) => word.startsWith("<<"))) return "inline content (heredoc), not files of the build context";
  if (words.length < 2) return "needs at least one source and a destination";
  const expanded = words.map((word) => expand(word, lookup));
  if (expanded.some((word) => word === undefined)) {
    return "a variable in its paths has no value (give the ARG a default or pass --build-arg)";
  }
  const paths = expanded as string[];
  const writtenDest = paths.at(-1) as string;
  const sources = paths.slice(0, -1);

  if (!writtenDest.startsWith("/") && facts.workdir === undefined) {
    return `the destination is relative and ${facts.workdirUnknown}; add an absolute WORKDIR before it`;
  }
  const dest = resolveAgainst(facts.workdir ?? "/", writtenDest);
  const destIsDir = writtenDest === "." || writtenDest.endsWith("/") || writtenDest.endsWith("/.") || sources.length > 1 || facts.dirs.has(dest);
  if (destIsDir) addDirectory(facts.dirs, dest);

  return sources.map((source): CopyOutcome => {
    if (keyword === "ADD" && REMOTE.test(source)) return { skipped: `${source} is downloaded, not taken from the build context` };
    if (keyword === "ADD" && ARCHIVE.test(source)) return { skipped: `${source} is an archive that ADD unpacks; a change to it rebuilds` };
    const src = contextRelative(source);
    if (WILDCARD.test(src) && !destIsDir) return { skipped: `the pattern ${source} is copied to a file path; a change to what it matches rebuilds` };
    return { rule: { src, dest: destIsDir && dest !== "/" ? `${dest}/` : dest } };
  });
}

/** Sources and destination as docker build reads them: the JSON form, or words with quotes removed. */
function copyWords(instruction: Instruction): string[] {
  const content = (instruction.getArgumentsContent() ?? "").trim();
  if (content.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(content);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === "string")) return parsed;
    } catch {
      // Not JSON after all: Docker reads it as the shell form too.
    }
  }
  return instruction.getArguments().map((argument) => unquote(argument.getValue()));
}

/** A directory and its parents: `WORKDIR /app/src` creates /app too. */
function addDirectory(dirs: Set<string>, dir: string): void {
  for (let path = dir; path !== "/"; path = path.slice(0, path.lastIndexOf("/")) || "/") dirs.add(path);
  dirs.add("/");
}

/** The instruction as one line: continuations joined, a heredoc's body left out. */
function oneLine(instruction: Instruction): string {
  const [first = ""] = instruction
    .getTextContent()
    .replace(/\\\r?\n\s*/g, " ")
    .split(/\r?\n/);
  return first.replace(/\s+/g, " ").trim();
}

function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
}
