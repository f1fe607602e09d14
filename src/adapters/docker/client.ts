import Dockerode from "dockerode";
import { Agent } from "node:https";
import { UserError } from "../../errors.js";
import { connectionFailure } from "../connection-errors.js";
import { describeEndpoint, resolveDockerEndpoint, type DockerEndpoint, type DockerEnv, type ResolveOptions } from "./endpoint.js";

export type { DockerEnv } from "./endpoint.js";

export interface DockerConnection {
  client: Dockerode;
  /** Where the engine is, for messages: unix:///var/run/docker.sock, tcp://host:2376, ... */
  endpoint: string;
  /** How it was found (DOCKER_HOST, a docker context, the default), for doctor and errors. */
  resolved: DockerEndpoint;
  /** What a `docker` CLI run for this engine needs in its environment (see dockerCliEnv). */
  cliEnv: Record<string, string | undefined>;
}

/**
 * The one way mlkube reaches a Docker engine: the engine the user's `docker` uses (see
 * endpoint.ts). The variables are passed explicitly so that a `minikube docker-env` can be applied
 * to one client inside mlkube without touching process.env or the user's shell.
 */
export function connectDocker(env: DockerEnv = process.env, options: ResolveOptions = {}): DockerConnection {
  const resolved = resolveDockerEndpoint(env, options);
  return { client: new Dockerode(dockerodeOptions(resolved)), endpoint: resolved.host, resolved, cliEnv: dockerCliEnv(env, resolved) };
}

/**
 * The environment that makes a `docker` CLI reach this engine: the variables that chose it (a
 * `minikube docker-env` applied to one connection included), and the context pinned by name so a
 * `docker context use` while mlkube runs cannot move the CLI to another engine. Undefined unsets.
 */
export function dockerCliEnv(env: DockerEnv, resolved: DockerEndpoint): Record<string, string | undefined> {
  const common = {
    DOCKER_CONFIG: env.DOCKER_CONFIG,
    DOCKER_TLS_VERIFY: env.DOCKER_TLS_VERIFY,
    DOCKER_TLS: env.DOCKER_TLS,
    DOCKER_CERT_PATH: env.DOCKER_CERT_PATH,
    HOME: env.HOME ?? process.env.HOME,
  };
  if (resolved.source === "DOCKER_HOST") return { ...common, DOCKER_HOST: env.DOCKER_HOST, DOCKER_CONTEXT: undefined };
  return { ...common, DOCKER_HOST: undefined, DOCKER_CONTEXT: resolved.context };
}

function dockerodeOptions({ host, tls }: DockerEndpoint): Dockerode.DockerOptions {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host.startsWith("npipe://")) return { socketPath: host.slice("npipe://".length) };
  const url = new URL(host);
  if (url.protocol === "ssh:") return { protocol: "ssh", host: url.hostname, port: url.port || 22, username: url.username };
  if (!tls) return { protocol: "http", host: url.hostname, port: url.port };
  const options: Dockerode.DockerOptions = { protocol: "https", host: url.hostname, port: url.port, ca: tls.ca, cert: tls.cert, key: tls.key };
  if (tls.verify) return options;
  // SkipTLSVerify, or DOCKER_TLS without DOCKER_TLS_VERIFY: encrypted, but the engine's certificate
  // is not checked. docker-modem passes `agent` on to https.request (its typings omit it).
  return { ...options, agent: new Agent({ rejectUnauthorized: false, ca: tls.ca, cert: tls.cert, key: tls.key }) } as Dockerode.DockerOptions;
}

/** Fails with a clear, actionable error when the engine does not answer. */
export async function ensureDockerReachable(connection: DockerConnection): Promise<void> {
  try {
    await connection.client.ping();
  } catch (cause) {
    const failure = connectionFailure(cause);
    const reason = failure?.reason ?? (cause as Error).message;
    const hint =
      failure?.code === "EACCES" || failure?.code === "EPERM"
        ? "Add your user to the docker group ('sudo usermod -aG docker $USER', then log in again), or run a rootless engine and point DOCKER_HOST at it."
        : unreachableHint(connection.resolved);
    throw new UserError("docker-unavailable", `Cannot reach the Docker engine at ${describeEndpoint(connection.resolved)}: ${reason}.`, { hint, cause });
  }
}

/** What to do when the engine does not answer, naming what chose it. */
function unreachableHint(endpoint: DockerEndpoint): string {
  switch (endpoint.source) {
    case "DOCKER_HOST":
      return "Start the engine DOCKER_HOST names, or unset DOCKER_HOST (a leftover 'minikube docker-env' is a common cause). 'docker info' should answer.";
    case "DOCKER_CONTEXT":
      return `Start the engine of docker context '${endpoint.context}', or unset DOCKER_CONTEXT; 'docker context ls' lists the contexts. 'docker info' should answer.`;
    case "config":
      return `Start the engine of docker context '${endpoint.context}', or switch with 'docker context use NAME' ('docker context ls' lists them). 'docker info' should answer.`;
    case "default":
      return "Start Docker (Docker Desktop, or 'sudo systemctl start docker'). If your engine runs elsewhere (Colima, rootless, a remote host), select it with 'docker context use NAME' or DOCKER_HOST. 'docker info' should answer.";
  }
}
