/**
 * Live update's way into the model's pods, through the Kubernetes API only (the same on kind,
 * minikube and any context): pods/exec for the copy and the restart, pods/portforward to see
 * the restarted server answer, the pod's log for its traceback.
 */
import type { KubeAccess } from "../kube/client.js";
import { execInPod } from "../kube/pod-exec.js";
import { get, type Agent } from "node:http";
import type { PodConnections } from "../kube/pod-connections.js";
import type { PodTarget } from "../kube/pod-forward.js";
import { containerLogTail } from "../kube/rollout.js";
import { LIVE_STATE_FILE, type SupervisorState } from "../docker/dev-layer.js";
import type { PodAccess } from "./sync-pods.js";

interface PodAccessOptions {
  namespace: string;
  /**
   * The readiness path: a restarted server "answers" when this returns 2xx or 3xx, as the kubelet's
   * HTTP probe counts. Without one (zero-config before a health endpoint is known, a tcpSocket
   * probe), any HTTP answer at / shows the server is up.
   */
  readinessPath: string | undefined;
  /** How long a restarted server may take to answer (its model load included). */
  answerTimeoutMs: number;
  /** Where the answer checks connect; a pod that answered keeps its connection open here for the smoke tests. */
  connections: PodConnections;
  signal?: AbortSignal | undefined;
}

/**
 * How often the server is asked whether it answers yet (its first answer ends the sync, so ask
 * often: a refused ask costs one forward), and the supervisor whether it still runs.
 */
const ANSWER_POLL_MS = 20;
const STATE_POLL_MS = 250;

export function podAccess(kube: KubeAccess, options: PodAccessOptions): PodAccess {
  const { namespace, signal } = options;
  const exec = (pod: string, command: string[], stdin?: NodeJS.ReadableStream) => execInPod(kube, { namespace, pod }, command, { stdin, signal });
  /** The supervisor's state, or undefined when the pod has none (an image built without the dev layer). */
  const readState = async (pod: string): Promise<SupervisorState | undefined> => {
    const read = await exec(pod, ["cat", LIVE_STATE_FILE]);
    return read.exitCode === 0 ? parseState(read.stdout) : undefined;
  };

  return {
    exec,

    async waitAnswering(target: PodTarget) {
      const connection = await options.connections.get(target);
      const started = performance.now();
      // The supervisor is asked only once the server has had a moment: most restarts answer first.
      let stateCheckedAt = performance.now();
      try {
        for (;;) {
          if (signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
          // A server that died at once (a SyntaxError) is known from the supervisor, not by waiting out the time.
          if (performance.now() - stateCheckedAt >= STATE_POLL_MS) {
            stateCheckedAt = performance.now();
            const state = await readState(target.pod);
            if (state && !state.running && state.lastExit?.generation === state.generation) {
              throw new Error(`the server exited with status ${state.lastExit.status}${state.lastExit.signal ? ` (${state.lastExit.signal})` : ""}`);
            }
          }
          if (await answers(`${connection.url}${options.readinessPath ?? "/"}`, connection.agent, options.readinessPath === undefined)) return;
          if (performance.now() - started > options.answerTimeoutMs) {
            throw new Error(
              `it did not answer ${options.readinessPath ?? "on its port"} within ${Math.round(options.answerTimeoutMs / 1000)} s${connection.lastError() ? ` (${connection.lastError()})` : ""}`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL_MS));
        }
      } catch (error) {
        await options.connections.drop(target);
        throw error;
      }
    },

    logTail: (pod) => lastStartLog(kube, namespace, pod),
  };
}

function parseState(text: string): SupervisorState | undefined {
  try {
    return JSON.parse(text) as SupervisorState;
  } catch {
    return undefined; // caught mid-write: asked again by the caller
  }
}

/**
 * Whether URL answers as a ready server: 2xx or 3xx, or with ANY_STATUS any HTTP answer at all.
 * Through AGENT, whose connection then stays open for the smoke tests that follow.
 */
function answers(url: string, agent: Agent, anyStatus: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { agent, signal: AbortSignal.timeout(1_000) }, (response) => {
      response.resume();
      response.on("end", () => resolve(anyStatus || ((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400)));
      response.on("error", () => resolve(false));
    });
    request.on("error", () => resolve(false));
  });
}

/** The container's log since the supervisor's last (re)start line: what the server said as it died. */
async function lastStartLog(kube: KubeAccess, namespace: string, pod: string): Promise<string[]> {
  const container = (await kube.core.readNamespacedPod({ name: pod, namespace })).spec?.containers[0]?.name ?? "";
  const lines = await containerLogTail(kube, namespace, pod, container, { previous: false, lines: 80 });
  const lastStart = lines.findLastIndex((line) => /^mlkube-supervisor: (started|restarted) /.test(line));
  return withoutSupervisorFrames(lines.slice(lastStart + 1).filter((line) => !line.startsWith("mlkube-supervisor:"))).slice(-20);
}

/** A traceback's frames in the supervisor and runpy (how the warm fork runs the app) say nothing about the user's code. */
export function withoutSupervisorFrames(lines: readonly string[]): string[] {
  const kept: string[] = [];
  let skippingFrame = false;
  for (const line of lines) {
    const frame = /^\s+File "/.test(line);
    if (frame) skippingFrame = /^\s+File "(\/usr\/local\/lib\/mlkube-live\/|<frozen runpy>)/.test(line);
    // A frame's source line is indented deeper than its "File" line.
    else if (skippingFrame && /^\s{4,}\S/.test(line)) continue;
    else skippingFrame = false;
    if (!skippingFrame) kept.push(line);
  }
  return kept;
}
