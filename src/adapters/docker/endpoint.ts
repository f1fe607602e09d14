import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, sep } from "node:path";
import { UserError } from "../../errors.js";

/**
 * Which Docker engine to talk to, found the way the `docker` CLI finds it, so that mlkube, `docker`
 * and kind/minikube (which run `docker`) all use one engine. docker/cli, cli/command/cli.go:
 * `resolveContextName` picks the context: DOCKER_HOST set (non-empty) means the "default" context,
 * else DOCKER_CONTEXT, else `currentContext` in the config file, else "default".
 * `getDockerEndPoint` then reads the "default" context from the environment
 * (`resolveDefaultDockerEndpoint`: DOCKER_HOST or the platform default, TLS from DOCKER_TLS_VERIFY,
 * DOCKER_TLS and DOCKER_CERT_PATH) and any other context from the context store
 * (`resolveDockerEndpoint`: cli/context/store, cli/context/docker/load.go).
 */

/** The environment variables that decide the engine; a subset of process.env. */
export interface DockerEnv {
  DOCKER_HOST?: string | undefined;
  DOCKER_TLS_VERIFY?: string | undefined;
  DOCKER_TLS?: string | undefined;
  DOCKER_CERT_PATH?: string | undefined;
  DOCKER_CONTEXT?: string | undefined;
  DOCKER_CONFIG?: string | undefined;
  HOME?: string | undefined;
  USERPROFILE?: string | undefined;
}

/** What mlkube uses to reach the engine, and where that choice came from (for doctor and errors). */
export interface DockerEndpoint {
  /** unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host, npipe:////./pipe/docker_engine */
  host: string;
  /** TLS for a tcp:// host; undefined: plain HTTP (or a socket, where TLS does not apply). */
  tls: EndpointTls | undefined;
  /** The docker context used: "default" means DOCKER_HOST or the platform default. */
  context: string;
  /** What chose it: DOCKER_HOST, DOCKER_CONTEXT, the config file's currentContext, or nothing. */
  source: "DOCKER_HOST" | "DOCKER_CONTEXT" | "config" | "default";
  /** The config file that was read (it names currentContext), for messages. */
  configFile: string;
  /** Something the user should know about the choice (e.g. an unreadable config file). */
  note?: string | undefined;
}

interface EndpointTls {
  /** false: TLS without checking the engine's certificate (DOCKER_TLS, or a context's SkipTLSVerify). */
  verify: boolean;
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

const DEFAULT_CONTEXT = "default";

export interface ResolveOptions {
  platform?: NodeJS.Platform;
}

export function resolveDockerEndpoint(env: DockerEnv, options: ResolveOptions = {}): DockerEndpoint {
  const platform = options.platform ?? process.platform;
  const configDir = dockerConfigDir(env);
  const configFile = join(configDir, "config.json");
  const host = nonEmpty(env.DOCKER_HOST);
  if (host) return { ...defaultContextEndpoint(env, configDir, platform), context: DEFAULT_CONTEXT, source: "DOCKER_HOST", configFile };
  const fromEnv = nonEmpty(env.DOCKER_CONTEXT);
  const config = fromEnv ? { currentContext: undefined, note: undefined } : readCurrentContext(configFile);
  const context = fromEnv ?? config.currentContext ?? DEFAULT_CONTEXT;
  const source = fromEnv ? "DOCKER_CONTEXT" : config.currentContext ? "config" : "default";
  const endpoint =
    context === DEFAULT_CONTEXT
      ? defaultContextEndpoint(env, configDir, platform)
      : storedContextEndpoint(context, source, { configDir, configFile, platform });
  return { ...endpoint, context, source, configFile, note: config.note };
}

/** Where `docker` keeps its config: $DOCKER_CONFIG, else ~/.docker (docker/cli cli/config/config.go `Dir`). */
function dockerConfigDir(env: DockerEnv): string {
  return nonEmpty(env.DOCKER_CONFIG) ?? join(nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? homedir(), ".docker");
}

/**
 * The config file's `currentContext`. docker only warns about a config file it cannot parse and
 * goes on with the default context (cli/config/config.go `LoadDefaultConfigFile`): so does mlkube,
 * and says so.
 */
function readCurrentContext(file: string): { currentContext: string | undefined; note: string | undefined } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return { currentContext: undefined, note: undefined }; // no config file: nothing chosen
  }
  try {
    const parsed = JSON.parse(text) as { currentContext?: unknown };
    return { currentContext: typeof parsed.currentContext === "string" ? nonEmpty(parsed.currentContext) : undefined, note: undefined };
  } catch (error) {
    return { currentContext: undefined, note: `${file} is not valid JSON (${(error as Error).message}); docker ignores it too` };
  }
}

/**
 * The "default" context: DOCKER_HOST or the platform default; TLS when DOCKER_TLS_VERIFY or
 * DOCKER_TLS is set to anything non-empty (docker/cli cli/flags/options.go), with the files in
 * DOCKER_CERT_PATH, else in the config directory. With TLS on and no DOCKER_HOST, docker goes to
 * tcp://localhost:2376 (opts/hosts.go `ParseHost` with defaultToTLS).
 */
function defaultContextEndpoint(env: DockerEnv, configDir: string, platform: NodeJS.Platform): Pick<DockerEndpoint, "host" | "tls"> {
  const verify = nonEmpty(env.DOCKER_TLS_VERIFY) !== undefined;
  const tlsOn = verify || nonEmpty(env.DOCKER_TLS) !== undefined;
  const explicit = nonEmpty(env.DOCKER_HOST);
  const host = explicit ? normalizeHost(explicit) : tlsOn ? "tcp://localhost:2376" : platformDefaultHost(platform);
  if (!tlsOn || !host.startsWith("tcp://")) return { host, tls: undefined };
  const certDir = nonEmpty(env.DOCKER_CERT_PATH) ?? configDir;
  const where = env.DOCKER_CERT_PATH ? `DOCKER_CERT_PATH=${certDir}` : `${certDir} (DOCKER_CERT_PATH is not set)`;
  // docker requires ca.pem and uses cert.pem and key.pem only where they exist.
  const ca = readTlsFile(certDir, "ca.pem", true, where);
  return { host, tls: { verify, ca, cert: readTlsFile(certDir, "cert.pem", false, where), key: readTlsFile(certDir, "key.pem", false, where) } };
}

function readTlsFile(dir: string, name: string, required: true, where: string): Buffer;
function readTlsFile(dir: string, name: string, required: false, where: string): Buffer | undefined;
function readTlsFile(dir: string, name: string, required: boolean, where: string): Buffer | undefined {
  try {
    return readFileSync(join(dir, name));
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError("docker-unavailable", `Cannot read ${name} for the Docker engine's TLS in ${where}.`, {
      hint: "Point DOCKER_CERT_PATH at the folder holding ca.pem, cert.pem and key.pem (minikube docker-env prints it), or unset DOCKER_TLS_VERIFY and DOCKER_TLS if the engine does not use TLS.",
      cause,
    });
  }
}

/**
 * A named context from the store: contexts/meta/<sha256 of the name>/meta.json holds
 * `Endpoints.docker.Host` and `SkipTLSVerify`; contexts/tls/<sha256>/docker/ holds ca.pem, cert.pem
 * and key.pem when the context has TLS material (docker/cli cli/context/store/store.go
 * `contextdirOf`, metadatastore.go, tlsstore.go; cli/context/docker/load.go `tlsConfig`: TLS is
 * used when there is TLS material or SkipTLSVerify).
 */
function storedContextEndpoint(
  name: string,
  source: DockerEndpoint["source"],
  { configDir, configFile, platform }: { configDir: string; configFile: string; platform: NodeJS.Platform },
): Pick<DockerEndpoint, "host" | "tls"> {
  const id = createHash("sha256").update(name).digest("hex");
  const metaFile = join(configDir, "contexts", "meta", id, "meta.json");
  const chosenBy = source === "DOCKER_CONTEXT" ? `DOCKER_CONTEXT=${name}` : `currentContext in ${configFile}`;
  const way = source === "DOCKER_CONTEXT" ? "unset DOCKER_CONTEXT or set it to one of them" : "choose one with 'docker context use NAME'";
  let text: string;
  try {
    text = readFileSync(metaFile, "utf8");
  } catch (cause) {
    throw new UserError("docker-unavailable", `The docker context '${name}' (${chosenBy}) does not exist: ${metaFile} cannot be read.`, {
      hint: `'docker context ls' lists the contexts there are; ${way}.`,
      cause,
    });
  }
  let docker: { Host?: unknown; SkipTLSVerify?: unknown } | undefined;
  try {
    docker = (JSON.parse(text) as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } }).Endpoints?.docker;
  } catch (cause) {
    throw new UserError("docker-unavailable", `The docker context '${name}' is damaged: ${metaFile} is not valid JSON.`, {
      hint: `Recreate it ('docker context rm ${name}', then 'docker context create'), or ${way}.`,
      cause,
    });
  }
  if (!docker) {
    throw new UserError("docker-unavailable", `The docker context '${name}' (${chosenBy}) has no Docker endpoint.`, {
      hint: `'docker context inspect ${name}' shows it; ${way}.`,
    });
  }
  // An empty Host leaves docker's client on its built-in default socket.
  const host =
    typeof docker.Host === "string" && docker.Host.trim() ? normalizeHost(docker.Host.trim(), `the docker context '${name}'`) : platformDefaultHost(platform);
  const skipVerify = docker.SkipTLSVerify === true;
  const tlsDir = join(configDir, "contexts", "tls", id, "docker");
  const material = { ca: readOptional(join(tlsDir, "ca.pem")), cert: readOptional(join(tlsDir, "cert.pem")), key: readOptional(join(tlsDir, "key.pem")) };
  const hasMaterial = material.ca !== undefined || material.cert !== undefined || material.key !== undefined;
  const tls = host.startsWith("tcp://") && (hasMaterial || skipVerify) ? { verify: !skipVerify, ...material } : undefined;
  return { host, tls };
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined; // a context without TLS material has no such file
  }
}

function platformDefaultHost(platform: NodeJS.Platform): string {
  return platform === "win32" ? "npipe:////./pipe/docker_engine" : "unix:///var/run/docker.sock";
}

/**
 * The host in docker's canonical form (docker/cli opts/hosts.go `parseDockerDaemonHost`): no
 * scheme means tcp, tcp without a port means 2375, unix:// alone means the default socket.
 */
function normalizeHost(raw: string, origin = "DOCKER_HOST"): string {
  const invalid = (reason: string) =>
    new UserError(
      "docker-unavailable",
      `${origin === "DOCKER_HOST" ? `DOCKER_HOST=${raw}` : `The host ${raw} of ${origin}`} is not a valid address (${reason}).`,
      {
        hint:
          origin === "DOCKER_HOST"
            ? "Set DOCKER_HOST to unix:///path/to/docker.sock or tcp://HOST:PORT, or unset it to use the default socket."
            : "'docker context ls' shows each context's endpoint; fix it with 'docker context update', or choose another with 'docker context use NAME'.",
      },
    );
  const [scheme, rest] = raw.includes("://") ? [raw.slice(0, raw.indexOf("://")), raw.slice(raw.indexOf("://") + 3)] : ["tcp", raw];
  switch (scheme) {
    case "unix":
      return `unix://${rest || "/var/run/docker.sock"}`;
    case "npipe":
      return `npipe://${rest || "//./pipe/docker_engine"}`;
    case "ssh":
      return raw;
    case "tcp": {
      let url: URL;
      try {
        url = new URL(`tcp://${rest}`);
      } catch {
        throw invalid("not HOST:PORT");
      }
      if (!url.hostname && rest !== "") throw invalid("no host");
      return `tcp://${url.hostname || "localhost"}:${url.port || "2375"}${url.pathname === "/" ? "" : url.pathname}`;
    }
    case "fd":
      throw invalid("fd:// sockets are handed over by systemd and work only inside dockerd");
    default:
      throw invalid(`unknown scheme ${scheme}://`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * How to say where the engine is and why: "unix:///home/u/.colima/default/docker.sock from docker
 * context 'colima' (~/.docker/config.json currentContext)".
 */
export function describeEndpoint(endpoint: DockerEndpoint, home = homedir()): string {
  const file = home && endpoint.configFile.startsWith(`${home}${sep}`) ? `~${endpoint.configFile.slice(home.length)}` : endpoint.configFile;
  const note = endpoint.note ? `; ${endpoint.note}` : "";
  switch (endpoint.source) {
    case "DOCKER_HOST":
      return `${endpoint.host} from DOCKER_HOST`;
    case "DOCKER_CONTEXT":
      return `${endpoint.host} from docker context '${endpoint.context}' (DOCKER_CONTEXT)`;
    case "config":
      return `${endpoint.host} from docker context '${endpoint.context}' (${file} currentContext)`;
    case "default":
      return `${endpoint.host}, the default (no DOCKER_HOST, DOCKER_CONTEXT or current docker context${note})`;
  }
}

/**
 * What kind/minikube (which run the `docker` CLI) need to reach the same engine. They read the
 * same environment and config file, so they would resolve the same endpoint; pinning the context
 * by name keeps them on mlkube's engine even if `docker context use` switches the config file
 * while mlkube runs. DOCKER_HOST, when it chose the engine, is inherited and wins over any context.
 */
export function engineEnvForTools(endpoint: DockerEndpoint): Record<string, string> {
  return endpoint.source === "DOCKER_HOST" ? {} : { DOCKER_CONTEXT: endpoint.context };
}
