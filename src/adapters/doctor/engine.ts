import { statfs } from "node:fs/promises";
import { diskCheck, type DoctorCheck } from "../../core/doctor.js";
import { isUserError } from "../../errors.js";
import { connectDocker, type DockerConnection, type DockerEnv } from "../docker/client.js";
import { describeEndpoint, type DockerEndpoint } from "../docker/endpoint.js";
import { withTimeout } from "./timeout.js";

interface Engine {
  connection: DockerConnection;
  /** Where the engine keeps images, on the engine's machine. */
  dataRoot: string;
}

/**
 * The Docker engine: which one (the one the user's `docker` uses, and what chose it), reachable,
 * and which version. Returns the engine for the checks that need it.
 */
export async function checkDocker(env: DockerEnv, platform: NodeJS.Platform): Promise<{ check: DoctorCheck; engine?: Engine }> {
  let connection: DockerConnection;
  try {
    connection = connectDocker(env, { platform });
  } catch (error) {
    if (!isUserError(error)) throw error;
    return { check: { name: "docker", status: "fail", detail: error.message, fix: error.hint } };
  }
  try {
    const [version, info] = await withTimeout(
      Promise.all([connection.client.version(), connection.client.info() as Promise<{ DockerRootDir?: string }>]),
      5_000,
    );
    return {
      check: { name: "docker", status: "ok", detail: `engine ${version.Version} at ${describeEndpoint(connection.resolved, env.HOME)}` },
      engine: { connection, dataRoot: info.DockerRootDir ?? "/var/lib/docker" },
    };
  } catch (cause) {
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    return {
      check: {
        name: "docker",
        status: "fail",
        detail: `no engine answers at ${describeEndpoint(connection.resolved, env.HOME)} (${reason})`,
        fix: unreachableFix(connection.resolved, platform),
      },
    };
  }
}

/** The fix for an engine that does not answer, naming the DOCKER_HOST or docker context that chose it. */
function unreachableFix(endpoint: DockerEndpoint, platform: NodeJS.Platform): string {
  const { context, source } = endpoint;
  if (source === "DOCKER_HOST") {
    // A DOCKER_HOST left over from 'minikube docker-env' is a classic way to lose the engine.
    return `unset DOCKER_HOST   (DOCKER_HOST=${endpoint.host}; or start the engine it names)`;
  }
  if (source === "default")
    return `${startDockerCommand(platform)}   (docker context 'default'; for an engine elsewhere, e.g. Colima or rootless: docker context use NAME)`;
  const start = startContextCommand(context, platform);
  const switchTo = source === "DOCKER_CONTEXT" ? "unset DOCKER_CONTEXT" : "switch: docker context use NAME";
  return start
    ? `${start}   (starts the engine of docker context '${context}'; or ${switchTo}; 'docker context ls' lists the contexts)`
    : `start the engine of docker context '${context}' ('docker context inspect ${context}' shows where it is), or ${switchTo}; 'docker context ls' lists the contexts`;
}

/**
 * How to start the engine behind the contexts the common installers create: Colima ("colima",
 * "colima-PROFILE"), Docker Desktop ("desktop-linux"), rootless Docker ("rootless", the
 * CLI_CONTEXT of moby's dockerd-rootless-setuptool.sh), Rancher Desktop, OrbStack.
 */
function startContextCommand(context: string, platform: NodeJS.Platform): string | undefined {
  if (context === "default") return startDockerCommand(platform);
  if (context === "colima") return "colima start";
  if (context.startsWith("colima-")) return `colima start --profile ${context.slice("colima-".length)}`;
  if (context === "desktop-linux") return platform === "linux" ? "systemctl --user start docker-desktop" : startDockerCommand(platform);
  if (context === "rootless") return "systemctl --user start docker";
  if (context === "rancher-desktop") return "start Rancher Desktop";
  if (context === "orbstack") return "orb start";
  return undefined;
}

function startDockerCommand(platform: NodeJS.Platform): string {
  if (platform === "darwin") return "open -a Docker";
  if (platform === "win32") return "start Docker Desktop";
  return "sudo systemctl start docker";
}

/**
 * Free space where images go: the engine's data root when the engine runs on this machine (a unix
 * socket), otherwise the current directory (the engine's disk is not visible from here).
 */
export async function checkDisk(engine: Engine | undefined, cwd: string): Promise<DoctorCheck> {
  const local = engine?.connection.endpoint.startsWith("unix://") === true;
  const candidates: [string, string][] = local
    ? [
        [engine.dataRoot, "Docker's data root"],
        [cwd, "the current directory"],
      ]
    : [[cwd, "the current directory"]];
  for (const [path, role] of candidates) {
    try {
      const stats = await statfs(path);
      return diskCheck(path, role, stats.bavail * stats.bsize);
    } catch {
      // not readable from here (e.g. the data root belongs to root): try the next place
    }
  }
  return { name: "disk", status: "warn", detail: `cannot read the free space of ${candidates.map(([path]) => path).join(" or ")}` };
}
