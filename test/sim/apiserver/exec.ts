/**
 * pods/NAME/exec over WebSocket, as a real cluster serves it to @kubernetes/client-node's `Exec`
 * (and to kubectl 1.30+, whose WebSocket executor asks for v5 only). Two paths exist in Kubernetes,
 * and which one a client gets depends on the apiserver's version:
 *
 * - The stream translator (`TranslateStreamCloseWebsocketRequests`: alpha and off in 1.29, beta and
 *   on by default from 1.30; so kind node images 1.30 to 1.34 have it, 1.29 does not). A WebSocket
 *   request that offers `v5.channel.k8s.io` anywhere in its list is upgraded by the apiserver itself,
 *   which speaks only v5 and talks SPDY to the kubelet
 *   (staging/src/k8s.io/apiserver/pkg/util/proxy/streamtranslator.go, websocket.go,
 *   translatinghandler.go; wsstream.IsWebSocketRequestWithStreamCloseProtocol). v5 adds the CLOSE
 *   signal: a client frame `[255, channel]` closes that channel, so stdin can end while the
 *   session goes on (wsstream conn.go `handle`; client-go tools/remotecommand/websocket.go `Close`).
 * - Otherwise the apiserver proxies the upgrade to the kubelet, whose WebSocket server offers
 *   "", `channel.k8s.io`, `base64.channel.k8s.io`, `v4.channel.k8s.io` and `v4.base64.channel.k8s.io`
 *   (staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/websocket.go) and picks the first
 *   the client offers (wsstream conn.go `handshake`). v4 has no way to end stdin but closing the
 *   WebSocket, which closes every channel (conn.Close): the process sees EOF, but the exit status
 *   can no longer be delivered.
 *
 * Channels (apimachinery/pkg/util/remotecommand/constants.go): 0 stdin, 1 stdout, 2 stderr,
 * 3 error (the status), 4 resize. Every frame is one channel byte, then the payload. Right after the
 * handshake the server writes an empty frame to the lowest writable channel (stdout, else stderr,
 * else error). When the command ends, v4 and v5 write a metav1.Status as JSON to channel 3 (Success;
 * or Failure / NonZeroExitCode with a cause {reason: "ExitCode", message: "N"}); the pre-v4
 * protocols write only a failure's message as text (kubelet remotecommand/httpstream.go
 * `v1WriteStatusFunc`, `v4WriteStatusFunc`; exec.go `ServeExec`).
 */
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { ExecStreams } from "../contract.js";
import { ContainerNotFound } from "./kubelet/kubelet.js";
import type { Registry } from "./registry.js";
import { R } from "./resources.js";
import { badRequest, unknownPath } from "./status.js";
import type { Pod } from "./types.js";
import { isWebSocketUpgrade, offeredProtocols, refuseUpgrade, refuseUpgradeWithText, type UpgradeHandler } from "./upgrade.js";

const V5 = "v5.channel.k8s.io";
const V4 = "v4.channel.k8s.io";
/** What the kubelet accepts, binary framing only (the base64 variants are not simulated). */
const KUBELET_PROTOCOLS = [V4, "channel.k8s.io", ""];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const CLOSE = 255;

export interface ExecDeps {
  registry: Registry;
  log: (line: string) => void;
  /** Whether the kubelet of the pod's node has the container running (Kubelet.isRunning). */
  isRunning: (pod: Pod, container: string) => boolean;
  /** The kubelet of the pod's node runs the command (Kubelet.exec). */
  exec: (pod: Pod, container: string, command: string[], streams: ExecStreams) => Promise<number>;
  /** The TranslateStreamCloseWebsocketRequests feature gate: v5 is served (see the top of this file). */
  streamClose: boolean;
}

interface ExecRequest {
  pod: Pod;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  protocol: string;
}

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/;

export function createExecHandler(deps: ExecDeps): UpgradeHandler {
  // checkRequest has already negotiated the same way, so this cannot fail here.
  const wss = new WebSocketServer({ noServer: true, clientTracking: true, handleProtocols: (offered) => negotiate([...offered], deps.streamClose) });
  return {
    closeAll: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    handle: (req, socket, head) => {
      let request: ExecRequest;
      let running: boolean;
      try {
        request = checkRequest(deps, req);
        running = deps.isRunning(request.pod, request.container);
      } catch (err) {
        refuseUpgrade(socket, err);
        return;
      }
      // Without the translator the kubelet checks the streams before its handshake and refuses
      // with its text, which the apiserver's proxy echoes (kubelet server.go getExec → NewOptions).
      const noStream = !request.stdin && !request.stdout && !request.stderr;
      if (noStream && request.protocol !== V5) return refuseUpgradeWithText(socket, 400, KUBELET_NO_STREAMS);
      // The kubelet's streaming.WriteError: a plain error is a 500 with err.Error() as the body.
      if (request.protocol !== V5 && !running) return refuseUpgradeWithText(socket, 500, new ContainerNotFound(request.container).message);
      wss.handleUpgrade(req, socket, head, (ws) => void session(ws, request, deps, noStream));
    },
  };
}

const KUBELET_NO_STREAMS = "you must specify at least 1 of stdin, stdout, stderr";

/** What the apiserver checks before anything is upgraded (pkg/registry/core/pod/strategy.go streamLocation). */
function checkRequest(deps: ExecDeps, req: IncomingMessage): ExecRequest {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  const match = PATH.exec(url.pathname);
  if (!match) throw unknownPath();
  if (!isWebSocketUpgrade(req)) throw badRequest("the simulator serves exec only over WebSocket (v4/v5.channel.k8s.io), not SPDY");
  const namespace = decodeURIComponent(match[1] ?? "");
  const name = decodeURIComponent(match[2] ?? "");
  const pod = deps.registry.get(R.pods, namespace, name) as Pod; // 404 NotFound when missing
  const containers = pod.spec.containers.map((c) => c.name);
  let container = url.searchParams.get("container") ?? "";
  if (container === "") {
    if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`);
    container = containers[0] ?? "";
  } else if (!containers.includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  }
  if (!pod.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const flag = (key: string): boolean => parseBool(key, url.searchParams.get(key));
  const tty = flag("tty");
  return {
    pod,
    container,
    command: url.searchParams.getAll("command"),
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    // The kubelet drops stderr under a TTY (remotecommand/httpstream.go NewOptions); TTYs themselves are not simulated.
    stderr: flag("stderr") && !tty,
    protocol: negotiate(offeredProtocols(req), deps.streamClose),
  };
}

/** The apiserver decodes PodExecOptions' booleans with strconv.ParseBool. */
function parseBool(key: string, value: string | null): boolean {
  if (value === null || value === "") return false;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw badRequest(`couldn't parse '${key}': strconv.ParseBool: parsing "${value}": invalid syntax`);
}

/** The translator when the client offers v5 and the gate is on; otherwise the kubelet's first match in the client's order. */
function negotiate(offered: string[], streamClose: boolean): string {
  if (streamClose && offered.includes(V5)) return V5;
  const choices = offered.length > 0 ? offered : [""];
  const chosen = choices.find((p) => KUBELET_PROTOCOLS.includes(p));
  if (chosen === undefined)
    throw badRequest(`requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${KUBELET_PROTOCOLS.filter(Boolean).join(" ")}]`);
  return chosen;
}

function frame(channel: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** Runs the command and copies the channels until it ends or the client goes. */
async function session(ws: WebSocket, request: ExecRequest, deps: ExecDeps, noStream: boolean): Promise<void> {
  const gone = new AbortController();
  const stdin = request.stdin ? new PassThrough() : undefined;
  ws.on("close", () => {
    // conn.Close closes every channel: the process's stdin ends.
    gone.abort();
    stdin?.end();
  });
  ws.on("error", () => ws.terminate());
  ws.on("message", (data: RawData, isBinary: boolean) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
    if (!isBinary || buffer.length === 0) return;
    const channel = buffer[0];
    if (request.protocol === V5 && channel === CLOSE) {
      // v5 CLOSE signal: exactly one byte, the channel to close; anything else is ignored.
      if (buffer.length === 2 && buffer[1] === STDIN) stdin?.end();
      return;
    }
    // Other channels than stdin (resize without a TTY, output channels) are read and dropped.
    if (channel !== STDIN || !stdin || stdin.writableEnded) return;
    if (!stdin.write(buffer.subarray(1))) {
      ws.pause();
      stdin.once("drain", () => ws.resume());
    }
  });
  const send = (channel: number, payload: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, payload));
  };
  send(request.stdout ? STDOUT : request.stderr ? STDERR : ERROR, Buffer.alloc(0));

  const status = await run(request, deps, noStream, {
    stdin,
    stdout: request.stdout ? (chunk) => send(STDOUT, chunk) : undefined,
    stderr: request.stderr ? (chunk) => send(STDERR, chunk) : undefined,
    signal: gone.signal,
  });
  if (gone.signal.aborted) return;
  const encoded = request.protocol === V4 || request.protocol === V5 ? JSON.stringify(status) : status.status === "Failure" ? status.message : undefined;
  if (encoded !== undefined) send(ERROR, Buffer.from(encoded));
  ws.close(1000);
}

/** metav1.Status as Go marshals it on the error channel: no kind/apiVersion, empty fields left out. */
interface ChannelStatus {
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

/** The command's outcome, worded as the kubelet (v4) or the translator on top of it (v5) words it. */
async function run(request: ExecRequest, deps: ExecDeps, noStream: boolean, streams: ExecStreams): Promise<ChannelStatus> {
  const translated = request.protocol === V5;
  let exitCode: number;
  try {
    // Through the translator, the kubelet's refusals come back from its SPDY client as
    // "unable to upgrade connection: <kubelet's text>" (client-go transport/spdy).
    if (noStream) throw new KubeletRefusal(KUBELET_NO_STREAMS);
    // containerd hands an empty command to runc, which refuses it (runc's validateProcessSpec);
    // the wording between containerd's prefix and runc's reason is approximated.
    if (request.command.length === 0) throw new Error("failed to exec in container: OCI runtime exec failed: args must not be empty");
    exitCode = await deps.exec(request.pod, request.container, request.command, streams);
  } catch (err) {
    if (err instanceof ContainerNotFound || err instanceof KubeletRefusal) return internalError(`unable to upgrade connection: ${err.message}`);
    // ServeExec: a runtime failure that is not an exit code.
    const kubelet = internalError(`error executing command in container: ${(err as Error).message}`);
    deps.log(`exec in ${request.pod.metadata.namespace ?? ""}/${request.pod.metadata.name ?? ""}: ${kubelet.message ?? ""}`);
    // client-go's v4 decoder turns a non-exit-code failure into errors.New(status.Message), which the translator wraps again.
    return translated ? internalError(kubelet.message ?? "") : kubelet;
  }
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  // containerd words the exit (`error executing command [sh -c exit 3], exit code 3`); through the
  // translator, client-go's v4 decoder has already turned it into `command terminated with exit code 3`.
  const inner = translated ? `command terminated with exit code ${exitCode}` : `error executing command [${request.command.join(" ")}], exit code ${exitCode}`;
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: ${inner}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

class KubeletRefusal extends Error {}

/** apierrors.NewInternalError: the cause carries the message, with no reason. */
function internalError(message: string): ChannelStatus {
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${message}`,
    reason: "InternalError",
    details: { causes: [{ message }] },
    code: 500,
  };
}
