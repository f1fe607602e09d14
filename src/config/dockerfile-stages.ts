/**
 * The stages of a Dockerfile as docker build sees them, shared by everything that reads what the
 * built stage contains (its EXPOSEd port, its COPY instructions): which stage is built, which
 * earlier stage it continues (`FROM builder`), and the ARG values declared before the first FROM.
 */
import { DockerfileParser, PropertyInstruction, type Dockerfile, type ImageTemplate, type Instruction } from "dockerfile-ast";
import { expand } from "./dockerfile-variables.js";

export interface DockerfileStage {
  /** Lowercased `AS name`; stage names are case-insensitive in Docker. */
  name: string | undefined;
  /** Lowercased image name of the FROM line, as written (variables not substituted). */
  base: string | undefined;
  template: ImageTemplate;
}

interface ParsedStages {
  stages: DockerfileStage[];
  /** ARGs before the first FROM: usable in a stage only when the stage declares the ARG again. */
  globalArgs: Map<string, string>;
}

export function parseStages(text: string, buildArgs: Readonly<Record<string, string>>): ParsedStages {
  const dockerfile: Dockerfile = DockerfileParser.parse(text);
  const globalArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (!property) continue;
    const name = property.getName();
    const value = buildArgs[name] ?? expand(property.getValue(), (variable) => globalArgs.get(variable));
    if (value !== undefined) globalArgs.set(name, value);
  }
  const stages: DockerfileStage[] = [];
  for (const from of dockerfile.getFROMs()) {
    const template = dockerfile.getContainingImage(from.getRange().start);
    if (template) stages.push({ name: from.getBuildStage()?.toLowerCase(), base: from.getImageName()?.toLowerCase(), template });
  }
  return { stages, globalArgs };
}

/** The index of the stage docker build builds: build.target's, or the last. -1 when target names no stage. */
export function builtStageIndex(stages: readonly DockerfileStage[], target: string | undefined): number {
  if (target === undefined) return stages.length - 1;
  return stages.findIndex((stage) => stage.name === target.toLowerCase());
}

/** The earlier stage a stage starts FROM (`FROM builder`), whose filesystem, ENV and WORKDIR it keeps; -1 for an image. */
export function parentStageIndex(stages: readonly DockerfileStage[], index: number): number {
  const stage = stages[index];
  if (!stage) return -1;
  return stages.findIndex((other, i) => i < index && other.name !== undefined && other.name === stage.base);
}

/** The stage names, for a message that says which targets exist. */
export function stageNames(stages: readonly DockerfileStage[]): string[] {
  return stages.flatMap((stage) => (stage.name ? [stage.name] : []));
}

/** A stage's variables while its instructions are read in order. */
export class StageVariables {
  /** ENV carries over to a stage that starts FROM this one; ARG does not. */
  readonly env: Map<string, string>;
  private readonly args = new Map<string, string>();

  constructor(
    private readonly buildArgs: Readonly<Record<string, string>>,
    private readonly globalArgs: ReadonlyMap<string, string>,
    inheritedEnv: ReadonlyMap<string, string> = new Map(),
  ) {
    this.env = new Map(inheritedEnv);
  }

  /** ENV wins over an ARG of the same name, as in Docker. */
  readonly lookup = (name: string): string | undefined => this.env.get(name) ?? this.args.get(name);

  /** Takes in an ARG or ENV instruction; false for any other instruction. */
  apply(instruction: Instruction): boolean {
    if (!(instruction instanceof PropertyInstruction)) return false;
    const keyword = instruction.getKeyword().toUpperCase();
    if (keyword === "ARG") {
      for (const property of instruction.getProperties()) {
        const name = property.getName();
        const value = this.buildArgs[name] ?? expand(property.getValue(), this.lookup) ?? this.globalArgs.get(name);
        if (value !== undefined) this.args.set(name, value);
      }
      return true;
    }
    if (keyword === "ENV") {
      for (const property of instruction.getProperties()) this.env.set(property.getName(), expand(property.getValue(), this.lookup) ?? "");
      return true;
    }
    return false;
  }
}
