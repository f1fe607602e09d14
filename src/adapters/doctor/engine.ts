import { statfs } from "node:fs/promises";
import { diskCheck, type DoctorCheck } from "../../core/doctor.js";
import { isUserError } from "../../errors.js";
import { connectDocker, type DockerConnection, type DockerEnv } from "../docker/client.js";
import { withTimeout } from "./timeout.js";

export interface Engine {
  connection: DockerConnection;
  /** Where the engine keeps images, on the engine's machine. */
  dataRoot: string;
}

/** The Docker engine: reachable, and which version. Returns the engine for the checks that need it. */
export async function checkDocker(env: DockerEnv, platform: NodeJS.Platform): Promise<{ check: DoctorCheck; engine?: Engine }> {
  let connection: DockerConnection;
  try {
    connection = connectDocker(env);
  } catch (error) {
    if (!isUserError(error)) throw error;
    return { check: { name: "docker", status: "fail", detail: error.message, fix: error.hint } };
  }
  try {
    const [version, info] = await withTimeout(Promise.all([connection.client.version(), connection.client.info() as Promise<{ DockerRootDir?: string }>]), 5_000);
    return {
      check: { name: "docker", status: "ok", detail: `engine ${version.Version} at ${connection.endpoint}` },
      engine: { connection, dataRoot: info.DockerRootDir ?? "/var/lib/docker" },
    };
  } catch (cause) {
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    const host = env.DOCKER_HOST?.trim();
    return {
      check: {
        name: "docker",
        status: "fail",
        detail: `no engine answers at ${connection.endpoint} (${reason})`,
        // A DOCKER_HOST left over from 'minikube docker-env' is a classic way to lose the engine.
        fix: host ? `unset DOCKER_HOST   (DOCKER_HOST=${host}; or start the engine it names)` : startDockerCommand(platform),
      },
    };
  }
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
  const candidates: [string, string][] = local ? [[engine.dataRoot, "Docker's data root"], [cwd, "the current directory"]] : [[cwd, "the current directory"]];
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
