import { Log, type V1Pod } from "@kubernetes/client-node";
import { Writable, type Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { statusMessage, type KubeAccess } from "./client.js";
import { containerLogTail } from "./rollout.js";
import { watchList } from "./watch-list.js";

export interface LogLine {
  pod: string;
  container: string;
  /** RFC 3339 time the kubelet stamped on the line. */
  time: string;
  text: string;
}

export interface LogNotice {
  pod: string;
  message: string;
  /** For a crash: the previous container's last lines. */
  lines?: string[] | undefined;
}

interface LogFollowOptions {
  /** Lines of history per container when attaching; default 50. */
  tailLines?: number | undefined;
  sinceSeconds?: number | undefined;
  /** Keep following (true) or print what there is and stop (false). */
  follow: boolean;
  onNotice?: ((notice: LogNotice) => void) | undefined;
}

export interface LogFollower {
  stop(): void;
  /** Resolves when every stream ended (only without follow). */
  done: Promise<void>;
}

/**
 * Follows the logs of every pod a selector matches: attaches to new pods as a rollout creates
 * them, lets go of deleted ones, and after a dropped stream resumes from the last line's
 * timestamp, skipping lines already delivered, so nothing is lost or repeated.
 */
export function followLogs(
  kube: KubeAccess,
  target: { namespace: string; selector: string },
  onLine: (line: LogLine) => void,
  options: LogFollowOptions,
): LogFollower {
  const streams = new Map<string, ContainerStream>();
  let stopped = false;
  /** What went wrong is said once per follower, not once per pod or per retry. */
  const said = new Set<string>();
  const sayOnce = (notice: LogNotice) => {
    if (said.has(notice.message)) return;
    said.add(notice.message);
    options.onNotice?.(notice);
  };
  const streamOptions: StreamOptions = { ...options, sayOnce };
  let podNames: string | undefined;

  const sync = (pods: V1Pod[]) => {
    // Other pods (a rollout, a fixed RoleBinding that came with one): refused streams ask again.
    const names = pods
      .map((pod) => pod.metadata?.name ?? "")
      .sort()
      .join(" ");
    const podsChanged = podNames !== undefined && names !== podNames;
    podNames = names;
    if (podsChanged) said.clear();
    const present = new Set<string>();
    for (const pod of pods) {
      const podName = pod.metadata?.name;
      if (!podName) continue;
      for (const status of pod.status?.containerStatuses ?? []) {
        const key = `${podName}/${status.name}`;
        present.add(key);
        const hasStarted = status.state?.running !== undefined || status.state?.terminated !== undefined || status.restartCount > 0;
        let stream = streams.get(key);
        if (!stream && hasStarted) {
          stream = new ContainerStream(kube, target.namespace, podName, status.name, onLine, streamOptions);
          streams.set(key, stream);
          stream.start();
          // Following, say when a container joins, as a rollout's new pod does: the reader sees
          // the switch from one version to the next instead of lines from a new name appearing.
          if (options.follow) options.onNotice?.({ pod: podName, message: `following container ${status.name}` });
        }
        if (stream && status.restartCount > stream.restartCount) {
          const terminated = status.lastState?.terminated;
          stream.restartCount = status.restartCount;
          void containerLogTail(kube, target.namespace, podName, status.name, { previous: true, lines: 10 }).then((lines) =>
            options.onNotice?.({
              pod: podName,
              message: `container ${status.name} restarted (restart ${status.restartCount}, exit code ${terminated?.exitCode ?? "?"}${terminated?.reason ? `, ${terminated.reason}` : ""}); its last lines:`,
              lines,
            }),
          );
          stream.resume();
        }
      }
    }
    for (const [key, stream] of streams) {
      if (!present.has(key)) {
        stream.stop();
        streams.delete(key);
        // Said once the stream has delivered what it had already received: never before its last lines.
        if (options.follow)
          void stream.ended.then(() => options.onNotice?.({ pod: stream.pod, message: `pod is gone; stopped following container ${stream.container}` }));
      }
    }
    if (podsChanged) for (const stream of streams.values()) stream.retryRefused();
  };

  if (!options.follow) {
    // One pass: list the pods once and print what each container has.
    const done = kube.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.selector }).then(async (list) => {
      sync(list.items);
      await Promise.all([...streams.values()].map((stream) => stream.ended));
    });
    return { stop: () => streams.forEach((stream) => stream.stop()), done };
  }

  const pods = watchList<V1Pod>(
    kube,
    `/api/v1/namespaces/${target.namespace}/pods`,
    { labelSelector: target.selector },
    () => kube.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.selector }),
    () => {
      if (!stopped) sync(pods.items());
    },
    (error) => sayOnce({ pod: "mlkube", message: `logs: cannot list the model's pods (${describeFailure(error)}); asking again, at most every 10 s` }),
  );
  return {
    stop: () => {
      stopped = true;
      pods.stop();
      for (const stream of streams.values()) stream.stop();
      streams.clear();
    },
    done: new Promise<void>(() => undefined),
  };
}

/** Longest line kept whole (with its timestamp); the log pane cuts shorter lines itself. */
const MAX_LINE = 64 * 1024;

/** Answers to a log request that no retry changes. */
const FINAL_STATUSES = new Map<number, string>([
  [401, "the cluster did not accept the credentials"],
  [403, "not allowed to read pod logs"],
  [404, "the pod or container no longer exists"],
]);

/** Failed connections in a row after which a stream says why it keeps asking. */
const FAILURES_SAID = 3;

interface StreamOptions extends LogFollowOptions {
  sayOnce(notice: LogNotice): void;
}

/** "HTTP 403: pods is forbidden: ...", or the connection's error. */
function describeFailure(error: unknown): string {
  const status = (error as { code?: unknown }).code;
  const message = (statusMessage(error).split("\n")[0] ?? "").trim();
  if (typeof status !== "number") return message;
  return message && !message.includes(String(status)) ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
}

/** One container's log stream, reconnecting from its last timestamp. */
class ContainerStream {
  restartCount = 0;
  private lastTime: string | undefined;
  /** Lines delivered at lastTime: a resumed stream repeats that second's lines. */
  private atLastTime = new Set<string>();
  /** An unfinished last line of a dropped stream, held back until the resumed stream shows whether it was finished. */
  private heldFragment: string | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  /** Stopped because the API server refused the log (401, 403, 404): asked again when the pods change. */
  private refused = false;
  /** Failed connection attempts in a row. */
  private failures = 0;
  /** Between a connection's start and its end: the sink may still deliver lines. */
  private connected = false;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  constructor(
    private readonly kube: KubeAccess,
    private readonly namespace: string,
    readonly pod: string,
    readonly container: string,
    private readonly onLine: (line: LogLine) => void,
    private readonly options: StreamOptions,
  ) {}

  start(): void {
    void this.connect();
  }

  /** After a restart the current container is a new one: its whole log is new. */
  resume(): void {
    this.abort?.abort();
  }

  /** A refused stream asks once more (the model's pods changed; rights may have come with them). */
  retryRefused(): void {
    if (!this.refused) return;
    this.refused = false;
    this.stopped = false;
    this.failures = 0;
    void this.connect();
  }

  /** Ends the stream; `ended` resolves once a connection still open has delivered what it received. */
  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (!this.connected) this.resolveEnded();
    setTimeout(() => this.resolveEnded(), 2_000).unref(); // never wait on a connection that does not close
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.connected = true;
    let pending = "";
    let cutting = false;
    // Chunks may split a multi-byte character; the decoder carries the partial bytes over.
    const decoder = new StringDecoder("utf8");
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        const lines = (pending + decoder.write(chunk)).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (cutting)
            cutting = false; // the rest of a line already shown cut
          else this.deliver(line);
        }
        // A line that never ends (a progress bar, a binary dump) must not hold memory without
        // bound: show its start once and drop the rest up to the next newline.
        if (pending.length > MAX_LINE) {
          if (!cutting) this.deliver(`${pending.slice(0, MAX_LINE)}… (line cut at ${MAX_LINE / 1024} KiB)`);
          cutting = true;
          pending = "";
        }
        callback();
      },
    });
    const resumeFrom = this.lastTime;
    const query = resumeFrom
      ? { follow: this.options.follow, timestamps: true, sinceTime: resumeFrom }
      : {
          follow: this.options.follow,
          timestamps: true,
          tailLines: this.options.tailLines ?? 50,
          ...(this.options.sinceSeconds ? { sinceSeconds: this.options.sinceSeconds } : {}),
        };
    // client-node 1.4 pipes the response into the sink and never calls its done callback: the
    // stream's end is the sink finishing (or failing), so that is what ends or reconnects it.
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      this.connected = false;
      this.reconnectLater(pending);
    };
    sink.on("finish", onEnd);
    sink.on("error", onEnd);
    // pipe() ends the sink only when the response ends cleanly; a connection cut off mid-stream (or
    // aborted by resume()) errors the response and would leave the sink open forever, never
    // reconnecting. Ending the sink when the response closes, however it closed, covers both.
    sink.on("pipe", (response: Readable) => {
      response.once("error", () => sink.end());
      response.once("close", () => sink.end());
    });
    try {
      this.abort = await new Log(this.kube.config).log(this.namespace, this.pod, this.container, sink, onEnd, query);
      this.failures = 0;
      if (this.stopped) this.abort.abort(); // stopped while connecting
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      if (typeof status === "number" && FINAL_STATUSES.has(status)) {
        // Not allowed, or the pod is gone: asking again every moment would change nothing.
        ended = true;
        this.connected = false;
        this.stopped = true;
        this.refused = true;
        this.options.sayOnce({
          pod: this.pod,
          message: `logs of container ${this.container}: ${FINAL_STATUSES.get(status)} (HTTP ${status}); not asked again until the model's pods change`,
        });
        this.resolveEnded();
        return;
      }
      this.failures++;
      if (this.failures === FAILURES_SAID)
        this.options.sayOnce({ pod: this.pod, message: `logs of container ${this.container}: ${describeFailure(error)}; asking again, at most every 10 s` });
      onEnd();
    }
  }

  private reconnectLater(pending: string): void {
    if (this.stopped || !this.options.follow) {
      if (pending.trim()) this.deliver(pending);
      this.resolveEnded();
      return;
    }
    // A stream cut off mid-line comes back whole on the resumed stream (its time is after the
    // last full line's): showing the fragment now would show that line twice. Only a fragment
    // that comes back unfinished (a dead container's last words without a newline) is shown.
    if (pending.trim() && pending === this.heldFragment) {
      this.deliver(pending);
      this.heldFragment = undefined;
    } else {
      this.heldFragment = pending.trim() ? pending : undefined;
    }
    // A stream that keeps failing (the container not started yet, the API server busy) is asked
    // again less and less often: 0.5 s, doubling, at most 10 s.
    setTimeout(() => void this.connect(), Math.min(10_000, 500 * 2 ** Math.max(0, this.failures - 1)));
  }

  private deliver(raw: string): void {
    const space = raw.indexOf(" ");
    const time = space > 0 ? raw.slice(0, space) : "";
    const text = space > 0 ? raw.slice(space + 1) : raw;
    if (this.lastTime !== undefined && time < this.lastTime) return; // before the resume point: already delivered
    if (time === this.lastTime) {
      if (this.atLastTime.has(text)) return;
    } else {
      this.lastTime = time;
      this.atLastTime = new Set();
    }
    this.atLastTime.add(text);
    this.onLine({ pod: this.pod, container: this.container, time, text });
  }
}
