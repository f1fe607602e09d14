import { INSTALL_KIND_HINT } from "../core/provider-choice.js";
import { execa, type ResultPromise } from "execa";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../errors.js";

/**
 * The one way mlkube runs another program. Keeping every child process behind this seam lets
 * tests record the exact argv of kind/minikube calls (where no real binary exists) and gives
 * every failure the same shape: the command, its exit code and the last lines it printed.
 */
interface ExecOptions {
  input?: string | NodeJS.ReadableStream | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** Called with each line the program prints (stdout and stderr), for live progress. */
  onLine?: ((line: string) => void) | undefined;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type Exec = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** A program that ran and failed. Keeps what a person needs to see why. */
export class CommandFailedError extends UserError {
  readonly command: string;
  readonly exitCode: number;
  readonly output: string;

  constructor(command: string, exitCode: number, output: string, hint?: string) {
    const tail = lastLines(output, 12);
    super("command-failed", `'${command}' failed with exit code ${exitCode}.`, { details: tail, ...(hint ? { hint } : {}) });
    this.command = command;
    this.exitCode = exitCode;
    this.output = output;
  }
}

/** Runs a program to completion; a non-zero exit is a CommandFailedError, a missing program a clear UserError. */
export const runCommand: Exec = async (file, args, options = {}) => {
  const child = execa(file, [...args], {
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input as string | Readable }),
    env: { ...process.env, ...options.env },
    extendEnv: false,
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
    reject: false,
    all: true,
    forceKillAfterDelay: 3_000,
  });
  if (options.onLine) forwardLines(child, options.onLine);
  const result = await child;
  const command = [file, ...args].join(" ");
  if (result.failed && (result as { code?: string }).code === "ENOENT") {
    throw new UserError("missing-tool", `'${file}' is not installed or not on the PATH.`, { hint: installHint(file) });
  }
  if (result.isCanceled) throw new UserError("cancelled", `'${command}' was cancelled.`);
  if (result.timedOut)
    throw new CommandFailedError(command, -1, String(result.all ?? ""), `It did not finish within ${Math.round((options.timeoutMs ?? 0) / 1000)} s.`);
  const exitCode = result.exitCode ?? -1;
  if (exitCode !== 0) throw new CommandFailedError(command, exitCode, String(result.all ?? ""));
  return { stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), exitCode };
};

function forwardLines(child: Pick<ResultPromise, "stdout" | "stderr">, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    // kind prints emoji: a character's bytes can straddle two chunks, and decoding each chunk
    // alone would turn it into "�".
    const decoder = new StringDecoder("utf8");
    stream?.on("data", (chunk: Buffer) => {
      pending += decoder.write(chunk);
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onLine(line);
    });
    stream?.on("end", () => {
      pending += decoder.end();
      if (pending.trim()) onLine(pending);
    });
  }
}

function lastLines(text: string, count: number): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .slice(-count);
}

function installHint(file: string): string {
  switch (file) {
    case "kind":
      return `${INSTALL_KIND_HINT} (then --provider minikube).`;
    case "minikube":
      return "Install minikube (https://minikube.sigs.k8s.io/docs/start/), or use --provider kind. 'mlkube doctor' checks what is missing.";
    case "docker":
      return "Install Docker and make sure 'docker' is on the PATH.";
    default:
      return `Install ${file} and make sure it is on the PATH.`;
  }
}

/** A child that keeps running (a tunnel, a log stream) until mlkube stops it. */
export interface ManagedProcess {
  /** The non-empty line at INDEX (from 0) it printed, e.g. one of the URLs `minikube service --url` prints; a failure if it ends first. */
  line(index: number): Promise<string>;
  stop(): Promise<void>;
}

export type Spawn = (file: string, args: readonly string[], options?: { env?: Readonly<Record<string, string | undefined>> }) => ManagedProcess;

/** How long a managed child gets to clean up after SIGINT before its process group is killed. */
const STOP_GRACE_MS = 3_000;

/** Signals that end mlkube when no command handles them (Node's default). */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The signal listeners of running managed children, which pass a signal on to them. */
const signalForwarders = new Set<(...args: never[]) => unknown>();

/**
 * Starts a long-running child that dies with mlkube, children included. `minikube service --url`
 * with the docker driver off Linux runs `ssh -N -L` as a child and kills it only when SIGINT
 * arrives (cmd/minikube/cmd/service.go: signal.Notify(os.Interrupt), then serviceTunnel.Stop());
 * a SIGTERM ends minikube at once (Go's default) and leaves ssh holding the port. So the child
 * gets its own process group (detached: setsid) and stop() signals the group: SIGINT, then SIGKILL
 * for whatever is left after the grace period (a hung minikube, or a grandchild that ignores
 * SIGINT, as a shell's background job does). Not execa's cleanup: it signals the leader only.
 */
export const spawnManaged: Spawn = (file, args, options = {}) => {
  // Windows has neither process groups nor SIGINT: there the child itself is terminated.
  const grouped = process.platform !== "win32";
  const child = execa(file, [...args], {
    env: { ...process.env, ...options.env },
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    all: true,
    detached: grouped,
    cleanup: false,
  });
  const signalAll = (signal: NodeJS.Signals) => {
    if (!grouped || child.pid === undefined) return void child.kill(signal);
    try {
      process.kill(-child.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // the group is already gone
    }
  };
  // mlkube ending while the child runs. On exit (a forced exit, a crash) there is no time for the
  // grace period. A signal no command handles ends mlkube without 'exit' (Node's default), and a
  // Ctrl-C typed in the terminal no longer reaches the child's group: pass SIGINT on, then end as
  // Node would have.
  const killOnExit = () => signalAll("SIGKILL");
  const passOn = (signal: NodeJS.Signals) => {
    // A command that handles the signal stops this child itself.
    if (process.listeners(signal).some((listener) => !signalForwarders.has(listener))) return;
    signalAll("SIGINT");
    // The last child's forwarder ends mlkube.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  signalForwarders.add(passOn);
  process.once("exit", killOnExit);
  for (const signal of ENDING_SIGNALS) process.once(signal, passOn);
  const lines: string[] = [];
  let ended: Error | undefined;
  const waiting = new Set<() => void>();
  const changed = () => waiting.forEach((check) => check());
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const complete = (pending + chunk.toString("utf8")).split(/\r?\n/);
    pending = complete.pop() ?? "";
    lines.push(...complete.map((line) => line.trim()).filter((line) => line !== ""));
    changed();
  });
  void child.then((result) => {
    ended =
      (result as { code?: string }).code === "ENOENT"
        ? new UserError("missing-tool", `'${file}' is not installed or not on the PATH.`, { hint: installHint(file) })
        : new CommandFailedError([file, ...args].join(" "), result.exitCode ?? -1, String(result.all ?? ""));
    changed();
  });
  const line = (index: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const printed = lines[index];
        if (printed === undefined && ended === undefined) return;
        waiting.delete(check);
        if (printed !== undefined) resolve(printed);
        else reject(ended);
      };
      waiting.add(check);
      check();
    });
  return {
    line,
    stop: async () => {
      process.off("exit", killOnExit);
      for (const signal of ENDING_SIGNALS) process.off(signal, passOn);
      signalForwarders.delete(passOn);
      if (child.pid !== undefined) {
        signalAll("SIGINT");
        // The leader's exit, not execa's promise: that waits for stdout too, which a grandchild holds open.
        const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "exit").catch(() => undefined);
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
        clearTimeout(grace);
        signalAll("SIGKILL");
      }
      await child;
    },
  };
};
