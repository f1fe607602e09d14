/**
 * The container port when mlkube.yaml does not set one: the first TCP port the Dockerfile's built
 * stage EXPOSEs. Handles `EXPOSE 5000/tcp`, several ports per line, ranges (first port), EXPOSE
 * inherited from an earlier stage (`FROM base AS final`), and `$VAR` / `${VAR:-default}` from
 * ARG (with --build-arg values) and ENV. EXPOSE of the base image is invisible here.
 */
import { DockerfileParser, PropertyInstruction, type ImageTemplate } from "dockerfile-ast";
import { UserError } from "../errors.js";

export interface ExposedPort {
  port: number;
  /** 1-based line of the EXPOSE instruction. */
  line: number;
}

export interface PortLookupOptions {
  /** Build argument values, which override ARG defaults as with docker build. */
  buildArgs?: Readonly<Record<string, string>>;
  /** The stage that is built (build.target); the last stage when undefined. */
  target?: string | undefined;
  /** How to name the Dockerfile in messages. */
  displayPath?: string;
}

interface Stage {
  /** Lowercased `AS name`; stage names are case-insensitive in Docker. */
  name: string | undefined;
  base: string | undefined;
  template: ImageTemplate;
}

interface StageState {
  env: Map<string, string>;
  ports: ExposedPort[];
}

/** The first exposed TCP port of the built stage, or undefined when it exposes none. */
export function exposedPort(text: string, options: PortLookupOptions = {}): ExposedPort | undefined {
  const { buildArgs = {}, target, displayPath = "Dockerfile" } = options;
  const dockerfile = DockerfileParser.parse(text);

  // ARGs before the first FROM: usable in a stage only when the stage declares the ARG again.
  const globalArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (!property) continue;
    const name = property.getName();
    const value = buildArgs[name] ?? expand(property.getValue(), (variable) => globalArgs.get(variable));
    if (value !== undefined) globalArgs.set(name, value);
  }

  const stages: Stage[] = [];
  for (const from of dockerfile.getFROMs()) {
    const template = dockerfile.getContainingImage(from.getRange().start);
    if (template) stages.push({ name: from.getBuildStage()?.toLowerCase(), base: from.getImageName()?.toLowerCase(), template });
  }
  if (stages.length === 0) return undefined;

  let index = stages.length - 1;
  if (target !== undefined) {
    index = stages.findIndex((stage) => stage.name === target.toLowerCase());
    if (index < 0) {
      const names = stages.flatMap((stage) => (stage.name ? [stage.name] : []));
      throw new UserError("config", `build.target "${target}" is not a stage of ${displayPath}.`, {
        hint: names.length > 0 ? `Set build.target to one of: ${names.join(", ")}.` : `Name the stage in ${displayPath} (FROM image AS ${target}), or remove build.target.`,
      });
    }
  }

  const evaluate = (stageIndex: number): StageState => {
    const stage = stages[stageIndex];
    if (!stage) return { env: new Map(), ports: [] };
    // `FROM builder` continues an earlier stage: its ENV and EXPOSE carry over, its ARGs do not.
    const parent = stages.findIndex((other, i) => i < stageIndex && other.name !== undefined && other.name === stage.base);
    const inherited = parent >= 0 ? evaluate(parent) : { env: new Map<string, string>(), ports: [] };
    const env = new Map(inherited.env);
    const args = new Map<string, string>();
    const ports = [...inherited.ports];
    // ENV wins over an ARG of the same name, as in Docker.
    const lookup = (variable: string) => env.get(variable) ?? args.get(variable);

    for (const instruction of stage.template.getInstructions()) {
      const keyword = instruction.getKeyword().toUpperCase();
      const line = instruction.getRange().start.line + 1;
      if (keyword === "ARG" && instruction instanceof PropertyInstruction) {
        for (const property of instruction.getProperties()) {
          const name = property.getName();
          const value = buildArgs[name] ?? expand(property.getValue(), lookup) ?? globalArgs.get(name);
          if (value !== undefined) args.set(name, value);
        }
      } else if (keyword === "ENV" && instruction instanceof PropertyInstruction) {
        for (const property of instruction.getProperties()) {
          env.set(property.getName(), expand(property.getValue(), lookup) ?? "");
        }
      } else if (keyword === "EXPOSE") {
        for (const argument of instruction.getArguments()) {
          const written = argument.getValue().replace(/^"(.*)"$/, "$1");
          const value = expand(written, lookup);
          if (value === undefined) {
            throw new UserError("dockerfile", `${displayPath}:${line} EXPOSE ${written}: a variable in it has no value, so mlkube cannot tell the port.`, {
              hint: "Give the ARG a default or pass --build-arg NAME=VALUE, or set port: in mlkube.yaml.",
            });
          }
          const port = parsePortSpec(value);
          if (port === "invalid") {
            throw new UserError("dockerfile", `${displayPath}:${line} EXPOSE ${written} is not a valid port.`, {
              hint: "Write EXPOSE <port> or EXPOSE <port>/tcp with a port from 1 to 65535, or set port: in mlkube.yaml.",
            });
          }
          if (port !== "not-tcp") ports.push({ port, line });
        }
      }
    }
    return { env, ports };
  };

  return evaluate(index).ports[0];
}

/** `8080`, `8080/tcp`, `8000-8010` (first port); UDP and SCTP ports are not for HTTP. */
function parsePortSpec(spec: string): number | "not-tcp" | "invalid" {
  const match = /^(\d+)(?:-\d+)?(?:\/([a-z]+))?$/i.exec(spec.trim());
  if (!match) return "invalid";
  const port = Number(match[1]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return "invalid";
  const protocol = match[2]?.toLowerCase() ?? "tcp";
  return protocol === "tcp" ? port : "not-tcp";
}

/**
 * Substitutes $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative}. Undefined when a variable
 * without a default has no value: then the result would be a guess.
 */
export function expand(text: string | null, lookup: (name: string) => string | undefined): string | undefined {
  if (text === null) return undefined;
  let unresolved = false;
  const result = text.replace(/\$(?:\{([A-Za-z_]\w*)(?::?([-+])([^}]*))?\}|([A-Za-z_]\w*))/g, (_match, braced?: string, modifier?: string, word?: string, bare?: string) => {
    const value = lookup(braced ?? bare ?? "");
    const isSet = value !== undefined && value !== "";
    if (modifier === "-") return isSet ? value : (word ?? "");
    if (modifier === "+") return isSet ? (word ?? "") : "";
    if (value === undefined) unresolved = true;
    return value ?? "";
  });
  return unresolved ? undefined : result;
}
