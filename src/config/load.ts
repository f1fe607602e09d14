/**
 * Loads a model directory's configuration: mlkube.yaml if there is one, otherwise nothing but the
 * Dockerfile (zero configuration). Everything after this works with a ResolvedConfig: validated,
 * defaults filled in, paths absolute.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { normalizeAbsolute } from "../core/live/posix-path.js";
import type { SyncRule } from "../core/live/sync-rules.js";
import { UserError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { exposedPort } from "./dockerfile-port.js";
import { configErrorMap, displayPath, formatPath, issueDetails, position, valueOffset, writtenAt, yamlErrorDetails, type ConfigSource } from "./errors.js";
import { checkConfigPaths, type PathFinding } from "./paths.js";
import { configSchema, type Config } from "./schema.js";

export { parseBuildArgs } from "./build-args.js";

export const CONFIG_FILE_NAMES = ["mlkube.yaml", "mlkube.yml"] as const;

/** The configuration every command works with. */
export type ResolvedConfig = Omit<Config, "name" | "port" | "image" | "allowPathsOutside" | "sync" | "service"> & {
  /** Absolute path of the model directory. */
  dir: string;
  /** Absolute path of mlkube.yaml, or null when the directory has none (zero configuration). */
  configFile: string | null;
  /** mlkube.yaml's name, or the directory name made DNS-safe. */
  name: string;
  /** mlkube.yaml's port, or the first TCP port the Dockerfile EXPOSEs. */
  port: number;
  image: { repository: string };
  /** Live update's sync rules: inferred from the Dockerfile, switched off, or mlkube.yaml's own. */
  sync: ResolvedSync;
  /**
   * `pinned`: mlkube.yaml writes service.nodePort, so the model uses exactly that port. Otherwise
   * `dev` picks a free one the cluster maps and remembers it for the directory (core/node-port-choice.ts).
   */
  service: Config["service"] & { pinned?: boolean };
  /**
   * The probes whose path mlkube.yaml does not write: mlkube does not guess a path for them. Readiness
   * waits for the port, or for a health endpoint mlkube detects; liveness only for the port.
   */
  unwrittenProbePaths?: readonly ProbeName[];
  /** mlkube.yaml's allowPathsOutside (optional, so hand-made configurations in tests need not say). */
  allowPathsOutside?: boolean;
  /**
   * Paths outside the model directory that allowPathsOutside lets through, one located line each
   * (`mlkube.yaml:3:12 build.context: ...`): `config` and the first build warn about them.
   */
  outsidePaths?: string[];
};

export type ProbeName = "readiness" | "liveness";

/** `sync:` resolved: the rules' sources relative to the build context, as inferred rules have them. */
type ResolvedSync = { mode: "infer" } | { mode: "off" } | { mode: "rules"; rules: SyncRule[] };

interface LoadOverrides {
  /** From --build-arg; these win over build.args in mlkube.yaml. */
  buildArgs?: Readonly<Record<string, string>>;
}

export async function loadConfig(dir: string, overrides: LoadOverrides = {}): Promise<ResolvedConfig> {
  const modelDir = resolve(dir);
  await assertDirectory(dir, modelDir);
  const configFile = await findConfigFile(modelDir);
  const parsed = configFile ? parseConfigSource(await readFile(configFile, "utf8"), displayPath(configFile)) : undefined;
  const config = parsed?.config ?? configSchema.parse({});
  // Without mlkube.yaml every path is a default inside the directory; a missing Dockerfile is
  // reported below as "not a model directory".
  const outsidePaths = parsed ? await checkPaths(parsed, modelDir) : [];

  // Every relative path in mlkube.yaml is relative to the file, i.e. to the model directory.
  const at = (path: string) => resolve(modelDir, path);
  const name = config.name ?? nameFromDirectory(basename(modelDir));
  const build = {
    ...config.build,
    context: at(config.build.context),
    dockerfile: at(config.build.dockerfile),
    args: { ...config.build.args, ...overrides.buildArgs },
    secrets: config.build.secrets.map((secret) =>
      secret.file === undefined ? secret : { ...secret, file: secret.file.startsWith("~/") ? join(homedir(), secret.file.slice(2)) : at(secret.file) },
    ),
  };
  const port = config.port ?? (await portFromDockerfile(build, modelDir, configFile));
  const sync = parsed ? resolveSync(parsed, modelDir, build.context) : { mode: "infer" as const };

  return {
    dir: modelDir,
    configFile,
    name,
    namespace: config.namespace,
    image: { repository: config.image.repository ?? name },
    port,
    build,
    sync,
    restart: config.restart,
    service: { ...config.service, pinned: parsed?.source.doc.hasIn(["service", "nodePort"]) ?? false },
    deploy: config.deploy,
    unwrittenProbePaths: (["readiness", "liveness"] as const).filter((probe) => !parsed?.source.doc.hasIn(["deploy", "probes", probe, "path"])),
    cluster: config.cluster,
    watch: config.watch,
    manifests: config.manifests.map(at),
    tests: config.tests.map((test) => ({ ...test, bodyFile: test.bodyFile === undefined ? undefined : at(test.bodyFile) })),
    requests: config.requests === undefined ? undefined : at(config.requests),
    allowPathsOutside: config.allowPathsOutside,
    outsidePaths,
  };
}

/** How `config` and the first build warn about a path that allowPathsOutside lets out. */
export function outsideWarning(located: string): string {
  return `warning: ${located} (allowed by allowPathsOutside: true)`;
}

/**
 * Every path mlkube.yaml names must exist and stay inside the model directory (see paths.ts).
 * Returns the located lines for paths that `allowPathsOutside: true` lets out, to warn about.
 */
async function checkPaths({ config, source }: ParsedConfig, modelDir: string): Promise<string[]> {
  const { errors, outside } = await checkConfigPaths(config, modelDir, (path) => source.doc.getIn(path, true) !== undefined);
  const located = (findings: PathFinding[]) =>
    findings.map(({ at, text }) => `${source.displayPath}:${position(source.lineCounter, valueOffset(source.doc, at))} ${formatPath(at)}: ${text}`);
  if (errors.length > 0) {
    const escapes = errors.some((error) => error.text.includes("outside the model directory"));
    const hint = escapes
      ? `Keep the paths inside the model directory (they are relative to ${source.displayPath}), or add "allowPathsOutside: true" to ${source.displayPath} to reach outside on purpose.`
      : `Create what is missing, or correct the paths (they are relative to ${source.displayPath}).`;
    throw configError(source.displayPath, located(errors), hint);
  }
  return located(outside);
}

/**
 * mlkube.yaml's sync rules with their sources made relative to the build context, where the image
 * takes files from and the watcher reports changes: a source outside it is an error.
 */
function resolveSync({ config, source }: ParsedConfig, modelDir: string, contextDir: string): ResolvedSync {
  if (config.sync === undefined) return { mode: "infer" };
  if (config.sync === false) return { mode: "off" };
  const outside: string[] = [];
  const rules = config.sync.map((rule, index): SyncRule => {
    const fromContext = relative(contextDir, resolve(modelDir, rule.src)).split(sep).join("/");
    if (fromContext === ".." || fromContext.startsWith("../") || isAbsolute(fromContext)) {
      const at = ["sync", index, "src"];
      outside.push(
        `${source.displayPath}:${position(source.lineCounter, valueOffset(source.doc, at))} ${formatPath(at)}: ${JSON.stringify(rule.src)} is outside the build context ${contextDir}, so it is not in the image`,
      );
    }
    const dest = normalizeAbsolute(rule.dest);
    // As in a Dockerfile, "/app/" and "/app/." name a directory.
    const isDirectory = /\/\.?$/.test(rule.dest) && dest !== "/";
    return { src: fromContext === "" ? "." : fromContext, dest: isDirectory ? `${dest}/` : dest, origin: `${source.displayPath} sync[${index}]` };
  });
  if (outside.length > 0) {
    throw configError(
      source.displayPath,
      outside,
      `Sync only files of the build context (build.context), or move them into it; src is relative to ${source.displayPath}.`,
    );
  }
  return { mode: "rules", rules };
}

/** The cluster part of the configuration, for up/down/status, which also work outside a model directory. */
export interface ClusterSettings {
  cluster: Config["cluster"];
  /** `pinned` as in the full configuration: mlkube.yaml writes service.nodePort. */
  service: Config["service"] & { pinned?: boolean };
}

export async function loadClusterSettings(dir: string): Promise<ClusterSettings> {
  const modelDir = resolve(dir);
  await assertDirectory(dir, modelDir);
  const configFile = await findConfigFile(modelDir);
  const parsed = configFile ? parseConfigSource(await readFile(configFile, "utf8"), displayPath(configFile)) : undefined;
  const config = parsed?.config ?? configSchema.parse({});
  return { cluster: config.cluster, service: { ...config.service, pinned: parsed?.source.doc.hasIn(["service", "nodePort"]) ?? false } };
}

/**
 * Parses and validates the text of an mlkube.yaml. Throws one UserError listing every problem,
 * each with file:line:column, so a user can fix them all in one go.
 */
export function parseConfig(text: string, shownAs: string): Config {
  return parseConfigSource(text, shownAs).config;
}

interface ParsedConfig {
  config: Config;
  /** The file as parsed, to point at a value's line and column. */
  source: ConfigSource;
}

function parseConfigSource(text: string, shownAs: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw configError(shownAs, yamlErrorDetails(doc.errors, shownAs), `Fix the YAML syntax at the position shown in ${shownAs}.`);
  }
  let data: unknown;
  try {
    // An empty file (or one with only comments) is an empty configuration.
    data = doc.toJS() ?? {};
  } catch (error) {
    // toJS throws for aliases it cannot expand: an unknown anchor, or far too many expansions.
    throw configError(
      shownAs,
      [`${shownAs}:1:1 ${error instanceof Error ? error.message : String(error)}`],
      `Check the YAML anchors (&name) and aliases (*name) in ${shownAs}.`,
    );
  }
  const source = { displayPath: shownAs, text, doc, lineCounter };
  const result = configSchema.safeParse(data, { error: configErrorMap((path) => writtenAt(source, path)) });
  if (!result.success) {
    throw configError(shownAs, issueDetails(result.error.issues, source), `Correct the fields listed above in ${shownAs}; ${schemaHint()}.`);
  }
  return { config: result.data, source };
}

function configError(shownAs: string, details: string[], hint: string): UserError {
  const count = details.length === 1 ? "1 error" : `${details.length} errors`;
  return new UserError("config", `${shownAs} has ${count}`, { details, hint });
}

function schemaHint(): string {
  const schemaFile = join(PACKAGE_ROOT, "schema", "mlkube.schema.json");
  return `for completion and checks in your editor, start the file with "# yaml-language-server: $schema=${schemaFile}"`;
}

/** A directory name made into a DNS-1123 label: `My_Model.v2` becomes `my-model-v2`. */
export function nameFromDirectory(directoryName: string): string {
  const name = directoryName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // accents: "modèle" becomes "modele", not "mod-le"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .replace(/^(?=[0-9])/, "model-") // a Service name must start with a letter: "3d-unet" becomes "model-3d-unet"
    .slice(0, 63)
    .replace(/-+$/, "");
  return name === "" ? "model" : name;
}

async function assertDirectory(given: string, modelDir: string): Promise<void> {
  const info = await stat(modelDir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError("usage", `${given} ${info ? "is not a directory" : "does not exist"}.`, {
      hint: "Pass the model directory, the one with the Dockerfile (and mlkube.yaml, if any), e.g. 'mlkube dev ./my-model'.",
    });
  }
}

async function findConfigFile(modelDir: string): Promise<string | null> {
  const found: string[] = [];
  for (const fileName of CONFIG_FILE_NAMES) {
    const file = resolve(modelDir, fileName);
    if (
      await stat(file).then(
        (info) => info.isFile(),
        () => false,
      )
    )
      found.push(file);
  }
  if (found.length > 1) {
    throw new UserError("config", `${displayPath(modelDir)} has both mlkube.yaml and mlkube.yml.`, {
      hint: "Keep one of them (mlkube.yaml) and delete the other.",
    });
  }
  return found[0] ?? null;
}

async function portFromDockerfile(build: ResolvedConfig["build"], modelDir: string, configFile: string | null): Promise<number> {
  const shownAs = displayPath(build.dockerfile);
  let text: string;
  try {
    text = await readFile(build.dockerfile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EISDIR") throw error;
    if (configFile === null) {
      throw new UserError("dockerfile", `${displayPath(modelDir)} has no Dockerfile and no mlkube.yaml: it is not a model directory.`, {
        hint: "Run mlkube on the directory that holds your model server's Dockerfile, or add a Dockerfile here.",
      });
    }
    // A build.dockerfile written in mlkube.yaml was checked with the other paths; this is the default.
    throw new UserError("dockerfile", `${shownAs} does not exist (the default build.dockerfile; ${displayPath(configFile)} sets none).`, {
      hint: `Create it, or set build.dockerfile in ${displayPath(configFile)} to your Dockerfile's path (relative to mlkube.yaml).`,
    });
  }
  const exposed = exposedPort(text, { buildArgs: build.args, target: build.target, displayPath: shownAs });
  if (exposed) return exposed.port;
  const config = configFile ? `${displayPath(configFile)} sets no port:` : "there is no mlkube.yaml";
  throw new UserError("config", `mlkube cannot tell which port the model listens on: ${config}, and ${shownAs} has no EXPOSE.`, {
    hint: `Add "port: 8080" (your server's port) to mlkube.yaml, or "EXPOSE 8080" to ${shownAs}.`,
  });
}
