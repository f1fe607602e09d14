import Dockerode from "dockerode";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../errors.js";
import { connectionFailure } from "../connection-errors.js";

/** The variables `docker` itself reads. Passed explicitly so a minikube docker-env can be applied
 * to one client inside mlkube without touching process.env or the user's shell. */
export interface DockerEnv {
  DOCKER_HOST?: string | undefined;
  DOCKER_TLS_VERIFY?: string | undefined;
  DOCKER_CERT_PATH?: string | undefined;
}

export interface DockerConnection {
  client: Dockerode;
  /** Where the engine is, for messages: unix:///var/run/docker.sock, tcp://host:2376, ... */
  endpoint: string;
  /** Why mlkube looks there, for messages: "DOCKER_HOST" or "the default socket". */
  source?: string;
}

export function connectDocker(env: DockerEnv = process.env): DockerConnection {
  const host = env.DOCKER_HOST?.trim();
  if (!host) {
    return { client: new Dockerode({ socketPath: "/var/run/docker.sock" }), endpoint: "unix:///var/run/docker.sock", source: "the default socket; DOCKER_HOST is not set" };
  }
  if (host.startsWith("unix://")) {
    return { client: new Dockerode({ socketPath: host.slice("unix://".length) }), endpoint: host, source: "DOCKER_HOST" };
  }
  let url: URL;
  try {
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch (cause) {
    throw new UserError("docker-unavailable", `DOCKER_HOST=${host} is not a valid address.`, {
      hint: "Set DOCKER_HOST to unix:///path/to/docker.sock or tcp://HOST:PORT, or unset it to use the default socket.",
      cause,
    });
  }
  if (url.protocol === "ssh:") {
    return { client: new Dockerode({ protocol: "ssh", host: url.hostname, port: url.port || 22, username: url.username }), endpoint: host, source: "DOCKER_HOST" };
  }
  const tls = env.DOCKER_TLS_VERIFY === "1" || url.port === "2376";
  const certs = tls && env.DOCKER_CERT_PATH ? readCerts(env.DOCKER_CERT_PATH) : {};
  const client = new Dockerode({ protocol: tls ? "https" : "http", host: url.hostname, port: url.port || (tls ? 2376 : 2375), ...certs });
  return { client, endpoint: host, source: "DOCKER_HOST" };
}

function readCerts(dir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  try {
    return { ca: readFileSync(join(dir, "ca.pem")), cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  } catch (cause) {
    throw new UserError("docker-unavailable", `Cannot read the TLS certificates in DOCKER_CERT_PATH=${dir}.`, {
      hint: "Point DOCKER_CERT_PATH at a folder holding ca.pem, cert.pem and key.pem (minikube docker-env prints it).",
      cause,
    });
  }
}

/** Fails with a clear, actionable error when the engine does not answer. */
export async function ensureDockerReachable(connection: DockerConnection): Promise<void> {
  try {
    await connection.client.ping();
  } catch (cause) {
    const failure = connectionFailure(cause);
    const reason = failure?.reason ?? (cause as Error).message;
    const where = connection.source ? `${connection.endpoint} (${connection.source})` : connection.endpoint;
    const hint = failure?.code === "EACCES" || failure?.code === "EPERM"
      ? "Add your user to the docker group ('sudo usermod -aG docker $USER', then log in again), or run a rootless engine and point DOCKER_HOST at it."
      : `Start Docker (Docker Desktop, or 'sudo systemctl start docker'), or ${connection.source === "DOCKER_HOST" ? "fix or unset DOCKER_HOST" : "point DOCKER_HOST at a running engine"}. 'docker info' should answer.`;
    throw new UserError("docker-unavailable", `Cannot reach the Docker engine at ${where}: ${reason}.`, { hint, cause });
  }
}
