/** The host's Docker engine (where node containers live) and small helpers around it. */
import Dockerode from "dockerode";
import { PassThrough } from "node:stream";

export const HOST_DOCKER_SOCKET = process.env.MLKUBE_SIM_DOCKER_SOCKET ?? "/var/run/docker.sock";
export const hostDocker = new Dockerode({ socketPath: HOST_DOCKER_SOCKET });

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `docker exec CONTAINER CMD...` with the output captured (what kind does with `node.Command`). */
export async function execIn(docker: Dockerode, container: string, cmd: string[]): Promise<ExecResult> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const out = new PassThrough().on("data", (chunk: Buffer) => stdout.push(chunk));
  const err = new PassThrough().on("data", (chunk: Buffer) => stderr.push(chunk));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve).on("close", resolve).on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
}

/** Like execIn, but a non-zero exit is an error carrying the command's stderr. */
export async function mustExecIn(docker: Dockerode, container: string, cmd: string[]): Promise<string> {
  const result = await execIn(docker, container, cmd);
  if (result.exitCode !== 0) {
    throw new Error(
      `command "docker exec ${container} ${cmd.join(" ")}" failed with exit code ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/** Waits for a Docker progress stream (pull, load, build) and fails on the first error event. */
export function followProgress(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: Record<string, unknown>[]) => {
      if (error) return reject(error);
      const failed = events.find((event) => event.error || event.errorDetail);
      if (failed) return reject(new Error(String(failed.error ?? (failed.errorDetail as { message?: string }).message)));
      resolve(events);
    });
  });
}

export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}

/** The address of a container on a given network (or its first network). */
export async function containerIP(docker: Dockerode, container: string, network?: string): Promise<string | undefined> {
  const info = await docker.getContainer(container).inspect();
  const networks = info.NetworkSettings.Networks;
  const entry = network ? networks[network] : Object.values(networks)[0];
  return entry?.IPAddress || undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
