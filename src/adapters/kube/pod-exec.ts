import { Exec, type V1Status } from "@kubernetes/client-node";
import { PassThrough, Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../../errors.js";
import { unreachableCluster, type KubeAccess } from "./client.js";

interface ExecTarget {
  namespace: string;
  pod: string;
  /** Needed when the pod has more than one container. */
  container?: string | undefined;
}

interface ExecOptions {
  /**
   * Bytes for the command's stdin. On Kubernetes 1.30+ (WebSocket v5) their end closes the
   * command's stdin. Older API servers (v4) cannot close it without ending the session and losing
   * the exit code, so there the command must stop reading by itself: wrap it with
   * readingExactly(), or use a reader that stops at its own end marker (tar -x).
   */
  stdin?: Buffer | NodeJS.ReadableStream | undefined;
  signal?: AbortSignal | undefined;
  /** Ends the session and fails after this long; none by default. */
  timeoutMs?: number | undefined;
}

export interface ExecResult {
  exitCode: number;
  /** At most EXEC_OUTPUT_LIMIT bytes each; more is cut and a note says how much. */
  stdout: string;
  stderr: string;
}

/** How much of each output stream is kept: commands used here report, they do not stream data. */
export const EXEC_OUTPUT_LIMIT = 1024 * 1024;
/** Stdin is not written faster than the WebSocket drains it, so a large archive is not all buffered. */
const STDIN_HIGH_WATER = 4 * 1024 * 1024;
/** The protocol of Kubernetes 1.30+ (TranslateStreamCloseWebsocketRequests), the first that can close stdin. */
const STREAM_CLOSE_PROTOCOL = "v5.channel.k8s.io";

/**
 * Runs a command in a pod's container through the API server's `pods/exec` (what `kubectl exec`
 * does), with its stdin fed from `options.stdin`; resolves with the exit code and the output once
 * the command ended. A command that runs but exits non-zero resolves (the caller decides what
 * that means); failing to run it at all rejects with a UserError.
 */
export async function execInPod(kube: KubeAccess, target: ExecTarget, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (command.length === 0) throw new Error("execInPod needs a command"); // a bug in the caller, not the user's
  const stopped = stopSignal(options);
  try {
    if (stopped.signal.aborted) throw stopped.error(target);
    const stdout = new BoundedText("stdout");
    const stderr = new BoundedText("stderr");
    const input = options.stdin ? new PassThrough() : null;
    let status: V1Status | undefined;
    const connecting = new Exec(kube.config).exec(
      target.namespace,
      target.pod,
      target.container ?? "",
      command,
      stdout,
      stderr,
      input,
      false,
      (received) => (status = received),
    );
    let connected: Awaited<typeof connecting> | "stopped";
    try {
      connected = await Promise.race([connecting, stopped.aborted]);
    } catch (cause) {
      throw await refused(kube, target, cause);
    }
    if (connected === "stopped") {
      // Stopped while connecting: a session that opens later is closed at once.
      connecting.then(
        (late) => late.close(),
        () => undefined,
      );
      throw stopped.error(target);
    }
    const ws = connected;
    const closed = new Promise<"closed">((resolve) => (ws.readyState === ws.CLOSED ? resolve("closed") : ws.on("close", () => resolve("closed"))));
    let stdinFailure: unknown;
    if (input && options.stdin) {
      feed(options.stdin, input, ws, stopped.signal).catch((error: unknown) => {
        stdinFailure = error;
        ws.close();
      });
    }
    const outcome = await Promise.race([closed, stopped.aborted]);
    if (outcome !== "closed") {
      ws.close();
      throw stopped.error(target, input !== null && ws.protocol !== STREAM_CLOSE_PROTOCOL ? ws.protocol : undefined);
    }
    if (stdinFailure !== undefined) throw stdinFailure;
    return { exitCode: exitCodeOf(status, target), stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    stopped.dispose();
  }
}

/**
 * `command` reading exactly `byteCount` bytes of stdin, then seeing its end: what makes a stdin
 * stream end on API servers that cannot close it (before Kubernetes 1.30). Needs `sh` and `head`
 * in the container; the exit code is the command's.
 */
export function readingExactly(byteCount: number, command: string[]): string[] {
  if (!Number.isSafeInteger(byteCount) || byteCount < 0) throw new Error(`readingExactly needs a byte count, not ${byteCount}`);
  return ["sh", "-c", 'head -c "$0" | "$@"', String(byteCount), ...command];
}

function describeTarget(target: ExecTarget): string {
  return `${target.container ? `container ${target.container} of ` : ""}pod ${target.namespace}/${target.pod}`;
}

/**
 * Copies stdin into the session no faster than the socket drains. Its end closes the command's
 * stdin on v5 (client-node sends the CLOSE signal when `input` ends); on v4 ending `input` would
 * make client-node close the WebSocket, losing the exit code, so there it stays open.
 */
async function feed(
  source: Buffer | NodeJS.ReadableStream,
  input: PassThrough,
  ws: { bufferedAmount: number; protocol: string; readyState: number; OPEN: number },
  signal: AbortSignal,
): Promise<void> {
  const chunks = Buffer.isBuffer(source) ? Readable.from([source]) : (source as AsyncIterable<Buffer | string>);
  // The session may end before all of stdin was read (the command exited): then stop feeding.
  const open = (): boolean => ws.readyState === ws.OPEN && !signal.aborted;
  for await (const chunk of chunks) {
    if (!open()) return;
    input.write(chunk);
    while (ws.bufferedAmount > STDIN_HIGH_WATER && open()) await sleep(5);
  }
  if (ws.protocol === STREAM_CLOSE_PROTOCOL) input.end();
}

/** The exit code from the status channel; a failure to run the command at all is the user's problem to see. */
function exitCodeOf(status: V1Status | undefined, target: ExecTarget): number {
  const where = describeTarget(target);
  if (!status) {
    throw new UserError("cluster", `The command in ${where} ended without an exit status: the connection to the API server was lost.`, {
      hint: `Check the pod with 'kubectl -n ${target.namespace} get pod ${target.pod}', then try again.`,
    });
  }
  if (status.status === "Success") return 0;
  if (status.reason === "NonZeroExitCode") {
    const code = Number(status.details?.causes?.find((cause) => cause.reason === "ExitCode")?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new UserError("cluster", `The command could not be run in ${where}: ${status.message ?? status.reason ?? "the API server reported a failure"}.`, {
    hint: "If the container is restarting or not started yet, wait until it runs ('kubectl get pods' shows it Running).",
  });
}

/** The WebSocket upgrade was refused or never connected: say why, reading the pod when the answer is only a status code. */
async function refused(kube: KubeAccess, target: ExecTarget, cause: unknown): Promise<UserError> {
  const where = { context: kube.context, server: kube.config.getCurrentCluster()?.server ?? "(no server)" };
  const unreachable = unreachableCluster((cause as { error?: unknown }).error ?? cause, where);
  if (unreachable) return unreachable;
  const message = (cause as { message?: unknown }).message;
  const httpStatus = Number(/Unexpected server response: (\d+)/.exec(typeof message === "string" ? message : "")?.[1]);
  const pod = describeTarget(target);
  if (httpStatus === 401 || httpStatus === 403) {
    return new UserError("cluster", `The cluster (context ${kube.context}) does not allow running commands in ${pod} (HTTP ${httpStatus}).`, {
      hint: `Commands in pods need the 'create' permission on 'pods/exec' in namespace ${target.namespace}; check with 'kubectl auth can-i create pods/exec -n ${target.namespace}'.`,
      cause,
    });
  }
  const why = await diagnose(kube, target);
  return new UserError(
    "cluster",
    `Cannot run a command in ${pod}: ${why ?? `the API server refused (${typeof message === "string" ? message : String(cause)})`}.`,
    {
      hint: `See the pod with 'kubectl -n ${target.namespace} describe pod ${target.pod}'.`,
      cause,
    },
  );
}

/** What is wrong with the target, read from the pod (the refused upgrade carries no body client-node shows). */
async function diagnose(kube: KubeAccess, target: ExecTarget): Promise<string | undefined> {
  try {
    const pod = await kube.core.readNamespacedPod({ namespace: target.namespace, name: target.pod });
    const names = (pod.spec?.containers ?? []).map((container) => container.name);
    if (!target.container && names.length > 1) return `the pod has ${names.length} containers (${names.join(", ")}); name one`;
    const name = target.container ?? names[0] ?? "";
    if (!names.includes(name)) return `the pod has no container '${name}' (it has ${names.join(", ")})`;
    const state = pod.status?.containerStatuses?.find((container) => container.name === name)?.state;
    if (!state?.running) {
      const detail = state?.waiting
        ? `waiting: ${state.waiting.reason ?? "not started"}`
        : state?.terminated
          ? `terminated: ${state.terminated.reason ?? `exit code ${state.terminated.exitCode}`}`
          : `pod phase ${pod.status?.phase ?? "unknown"}`;
      return `container '${name}' is not running (${detail})`;
    }
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 404 ? "the pod does not exist (a rollout may have replaced it)" : undefined;
  }
}

/** Abort and timeout as one signal, with the error each stands for. */
function stopSignal(options: ExecOptions): {
  signal: AbortSignal;
  aborted: Promise<"stopped">;
  error: (target: ExecTarget, stdinOpenOn?: string) => UserError;
  dispose: () => void;
} {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) controller.abort();
  const timer = options.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), controller.abort()), options.timeoutMs) : undefined;
  const aborted = new Promise<"stopped">((resolve) =>
    controller.signal.aborted ? resolve("stopped") : controller.signal.addEventListener("abort", () => resolve("stopped"), { once: true }),
  );
  return {
    signal: controller.signal,
    aborted,
    // stdinOpenOn: the protocol of a session whose stdin could not be closed (before v5).
    error: (target, stdinOpenOn) => {
      const where = describeTarget(target);
      if (!timedOut) return new UserError("cancelled", `The command in ${where} was cancelled.`);
      const seconds = Math.round((options.timeoutMs ?? 0) / 100) / 10;
      const hint =
        stdinOpenOn !== undefined
          ? `The API server speaks ${stdinOpenOn || "a pre-v4 protocol"} (Kubernetes before 1.30), which cannot end the command's input: the command must stop reading by itself (e.g. 'head -c BYTES | ...').`
          : `The command may be waiting for input or stuck; try it with 'kubectl exec -n ${target.namespace} ${target.pod} -- ...'.`;
      return new UserError("cluster", `The command in ${where} did not finish within ${seconds} s.`, { hint });
    },
    dispose: () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Keeps the first EXEC_OUTPUT_LIMIT bytes of an output stream and counts the rest. */
class BoundedText extends Writable {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly name: string) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const room = EXEC_OUTPUT_LIMIT - this.kept;
    if (room > 0) this.chunks.push(chunk.subarray(0, room));
    this.kept += Math.min(room, chunk.length);
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    done();
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString("utf8");
    return this.dropped > 0 ? `${text}\n[mlkube: ${this.name} cut at ${EXEC_OUTPUT_LIMIT} bytes; ${this.dropped} more bytes not kept]` : text;
  }
}
