/**
 * The container port when mlkube.yaml does not set one: the first TCP port the Dockerfile's built
 * stage EXPOSEs. Handles `EXPOSE 5000/tcp`, several ports per line, ranges (first port), EXPOSE
 * inherited from an earlier stage (`FROM base AS final`), and `$VAR` / `${VAR:-default}` from
 * ARG (with --build-arg values) and ENV. EXPOSE of the base image is invisible here.
 */
import { UserError } from "../errors.js";
import { builtStageIndex, parentStageIndex, parseStages, stageNames, StageVariables } from "./dockerfile-stages.js";
import { expand } from "./dockerfile-variables.js";

interface ExposedPort {
  port: number;
  /** 1-based line of the EXPOSE instruction. */
  line: number;
}

interface PortLookupOptions {
  /** Build argument values, which override ARG defaults as with docker build. */
  buildArgs?: Readonly<Record<string, string>>;
  /** The stage that is built (build.target); the last stage when undefined. */
  target?: string | undefined;
  /** How to name the Dockerfile in messages. */
  displayPath?: string;
}

interface StageState {
  env: Map<string, string>;
  ports: ExposedPort[];
}

/** The first exposed TCP port of the built stage, or undefined when it exposes none. */
export function exposedPort(text: string, options: PortLookupOptions = {}): ExposedPort | undefined {
  const { buildArgs = {}, target, displayPath = "Dockerfile" } = options;
  const { stages, globalArgs } = parseStages(text, buildArgs);
  if (stages.length === 0) return undefined;

  const index = builtStageIndex(stages, target);
  if (index < 0) {
    const names = stageNames(stages);
    throw new UserError("config", `build.target "${target}" is not a stage of ${displayPath}.`, {
      hint:
        names.length > 0
          ? `Set build.target to one of: ${names.join(", ")}.`
          : `Name the stage in ${displayPath} (FROM image AS ${target}), or remove build.target.`,
    });
  }

  const evaluate = (stageIndex: number): StageState => {
    const stage = stages[stageIndex];
    if (!stage) return { env: new Map(), ports: [] };
    // `FROM builder` continues an earlier stage: its ENV and EXPOSE carry over, its ARGs do not.
    const parent = parentStageIndex(stages, stageIndex);
    const inherited = parent >= 0 ? evaluate(parent) : { env: new Map<string, string>(), ports: [] };
    const variables = new StageVariables(buildArgs, globalArgs, inherited.env);
    const ports = [...inherited.ports];

    for (const instruction of stage.template.getInstructions()) {
      const keyword = instruction.getKeyword().toUpperCase();
      const line = instruction.getRange().start.line + 1;
      if (variables.apply(instruction)) continue;
      if (keyword === "EXPOSE") {
        for (const argument of instruction.getArguments()) {
          const written = argument.getValue().replace(/^"(.*)"$/, "$1");
          const value = expand(written, variables.lookup);
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
    return { env: variables.env, ports };
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
