/**
 * How the minikube stand-in decides that the node's IP is out of this machine's reach, and so that
 * `docker-env` and `service` go through ports forwarded to 127.0.0.1: minikube's own rule, asked of
 * the engine minikube talks to (DOCKER_HOST / the docker context), not of the simulator's engine.
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { hostDocker } from "../docker.js";

const run = promisify(execFile);

/**
 * pkg/minikube/driver/driver.go NeedsPortForward (docker driver): an external daemon host, macOS,
 * Windows or WSL, a Linux engine that is Docker Desktop, or rootless Docker. The engine facts come
 * from `docker system info --format {{json .}}` (pkg/drivers/kic/oci/info.go dockerSystemInfo),
 * whose failure minikube does not survive (NeedsPortForward panics): neither does the stand-in.
 */
export async function needsPortForward(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  if (isExternalDaemonHost(env)) return true;
  // detect.IsMicrosoftWSL: the variables WSL sets.
  if (platform === "darwin" || platform === "win32" || env.WSL_DISTRO_NAME || env.WSLPATH) return true;
  const { stdout } = await run("docker", ["system", "info", "--format", "{{json .}}"], { env });
  const info = JSON.parse(stdout) as { OperatingSystem?: string; SecurityOptions?: string[] | null };
  if (platform === "linux" && info.OperatingSystem === "Docker Desktop") return true;
  // oci/info.go DaemonInfo: any security option starting with "name=rootless".
  return (info.SecurityOptions ?? []).some((option) => option.startsWith("name=rootless"));
}

/** oci.IsExternalDaemonHost: DOCKER_HOST is a URL with a host part (tcp://127.0.0.1:2375 counts; unix:// does not). */
function isExternalDaemonHost(env: NodeJS.ProcessEnv): boolean {
  return daemonHostOf(env) !== undefined;
}

function daemonHostOf(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const url = new URL(env.DOCKER_HOST ?? "");
    return url.hostname.replace(/^\[|\]$/g, "") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The address forwarded ports are reached at: oci.DaemonHost (DOCKER_HOST's host, else 127.0.0.1)
 * resolved to its first IP, as driver.ControlPlaneEndpoint does before docker-env prints it.
 */
export async function daemonHostIp(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const host = daemonHostOf(env) ?? "127.0.0.1";
  return (await lookup(host)).address;
}

/**
 * oci.ForwardedPort: the host port Docker published for the node container's CONTAINER_PORT/tcp
 * (`docker container inspect -f '{{(index (index .NetworkSettings.Ports "P/tcp") 0).HostPort}}'`).
 */
export async function forwardedPort(container: string, containerPort: number): Promise<number> {
  const ports = (await hostDocker.getContainer(container).inspect()).NetworkSettings.Ports ?? {};
  const hostPort = Number(ports[`${containerPort}/tcp`]?.[0]?.HostPort);
  if (!hostPort) throw new Error(`get port ${containerPort} for "${container}": not published`);
  return hostPort;
}

/** freeport.GetFreePort, as tunnel/kic picks each tunnel's local port: bind localhost:0, close, return the port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "localhost", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
