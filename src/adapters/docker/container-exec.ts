import type Dockerode from "dockerode";
import { PassThrough } from "node:stream";
import { UserError } from "../../errors.js";

/**
 * Runs a command inside a running container (a kind or minikube node) through the Engine API, the
 * way `docker exec` does, and returns its output. Non-zero exit codes are errors that keep the output.
 */
export async function execInContainer(docker: Dockerode, container: string, command: string[]): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on("data", (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, output, output);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  const text = Buffer.concat(chunks).toString("utf8");
  if (ExitCode !== 0) {
    throw new UserError("command-failed", `'${command.join(" ")}' in container ${container} failed with exit code ${ExitCode}.`, {
      details: text.trim().split("\n").slice(-10),
    });
  }
  return text;
}

/** Writes a small file inside a container. The content travels as an argument, never through a shell string. */
export async function writeFileInContainer(docker: Dockerode, container: string, path: string, content: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await execInContainer(docker, container, ["sh", "-c", 'mkdir -p "$1" && printf "%s" "$3" > "$2"', "sh", dir, path, content]);
}
