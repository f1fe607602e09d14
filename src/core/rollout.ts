/**
 * Judges a rollout from one snapshot of the Deployment, its pods and their events: complete,
 * still progressing (and on what), or failed with one line of reason and the evidence. Pure, so
 * every failure kind is a table row in the tests. Peers hang on CrashLoopBackOff or hide the reason
 * (skaffold#3909, #7180); here each known dead end fails fast with what a person needs to fix it.
 */
import { isLoopback, listenAnnouncements } from "./listen-announcements.js";

export interface ContainerSnapshot {
  name: string;
  ready: boolean;
  restartCount: number;
  image?: string | undefined;
  waiting?: { reason?: string | undefined; message?: string | undefined } | undefined;
  running?: boolean | undefined;
  lastTerminated?: { exitCode?: number | undefined; reason?: string | undefined; message?: string | undefined } | undefined;
  /** Last lines of the previous container's log, fetched for crashes. */
  previousLogTail?: string[] | undefined;
  /** The path its HTTP readiness probe asks, if it has one. */
  readinessPath?: string | undefined;
  /** Last lines of the running container's log, fetched when its readiness probe finds the port closed. */
  currentLogTail?: string[] | undefined;
}

export interface PodSnapshot {
  name: string;
  /** The pod-template-hash label: which ReplicaSet (version) the pod belongs to. */
  templateHash: string | undefined;
  phase: string | undefined;
  ready: boolean;
  deleting: boolean;
  unschedulableMessage?: string | undefined;
  /** How long the pod has been unschedulable (since its PodScheduled condition turned False). */
  unschedulableForMs?: number | undefined;
  containers: ContainerSnapshot[];
  /** Limits by container name, for OOM messages. */
  memoryLimits: Record<string, string | undefined>;
  /** Pull policies by container name: the failing container's, not the first one's, explains a pull failure. */
  imagePullPolicies: Record<string, string | undefined>;
}

interface EventSnapshot {
  involvedName: string;
  reason: string;
  message: string;
  count: number;
}

export interface RolloutSnapshot {
  desiredReplicas: number;
  generation: number;
  observedGeneration: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  replicas: number;
  /** The pod-template-hash of the newest ReplicaSet, once the controller made it. */
  newTemplateHash: string | undefined;
  /** Progressing condition reason, e.g. ProgressDeadlineExceeded. */
  progressingReason?: string | undefined;
  pods: PodSnapshot[];
  events: EventSnapshot[];
}

type RolloutFailureKind =
  "image-pull" | "config" | "crash-loop" | "oom-killed" | "unschedulable" | "readiness" | "readiness-refused" | "port-closed" | "timeout" | "deadline";

/**
 * Readiness failures with one and the same 4xx, in a row, before mlkube calls the path wrong. A
 * 4xx is the server saying the request is wrong (no such route), not that it is still loading
 * (that is a 503, or a refused connection): waiting for the timeout changes nothing (issue #16.2).
 */
const SAME_CLIENT_ERROR_PROBES = 3;

/**
 * How long a pod may stay unschedulable before mlkube calls it a dead end, when nothing visible is
 * about to change that. The scheduler retries an unschedulable pod when pods go away or nodes
 * change (kube-scheduler's queueing hints), so a pod of the new version waiting for an old one to
 * release its requests is usually bound within the old pod's grace period; this covers the rest.
 */
const UNSCHEDULABLE_GRACE_MS = 10_000;

/**
 * Failed pulls of one pod before mlkube calls its image unreachable. The kubelet retries a failed
 * pull after a back-off (10 s, doubling: kubelet images/image_manager.go and its backOff), and a
 * first failure can be the cluster still settling (a node just created, the registry just joined
 * the node's network); a second one is not.
 */
const PULL_FAILURES_TO_FAIL = 2;

export type RolloutVerdict =
  | { state: "complete"; ready: number; desired: number; templateHash?: string | undefined }
  | { state: "progressing"; ready: number; desired: number; waitingFor: string }
  | { state: "failed"; kind: RolloutFailureKind; message: string; evidence: string[]; hint: string; refused?: { pod: string; path: string } | undefined };

export function judgeRollout(snapshot: RolloutSnapshot, timing: { elapsedMs: number; timeoutMs: number }): RolloutVerdict {
  const desired = snapshot.desiredReplicas;
  const newPods = snapshot.pods.filter((pod) => !pod.deleting && pod.templateHash !== undefined && pod.templateHash === snapshot.newTemplateHash);
  const readyNew = newPods.filter((pod) => pod.ready).length;

  const settled = snapshot.observedGeneration >= snapshot.generation && snapshot.newTemplateHash !== undefined;
  if (settled && snapshot.updatedReplicas === desired && readyNew >= desired && snapshot.replicas === desired && snapshot.availableReplicas >= desired) {
    return { state: "complete", ready: readyNew, desired, templateHash: snapshot.newTemplateHash };
  }

  const othersTerminating = snapshot.pods.some((pod) => pod.deleting);
  const failure = firstDeadEnd(newPods, snapshot.events, { timedOut: timing.elapsedMs >= timing.timeoutMs, othersTerminating });
  if (failure) return failure;

  const waitingFor = describeWaiting(snapshot, newPods, readyNew);
  if (snapshot.progressingReason === "ProgressDeadlineExceeded") {
    return {
      state: "failed",
      kind: "deadline",
      message: `The Deployment exceeded its progress deadline: ${waitingFor}.`,
      evidence: readinessEvidence(newPods, snapshot.events),
      hint: "Check the evidence above; raise spec.progressDeadlineSeconds only if the model really needs longer to start.",
    };
  }
  if (timing.elapsedMs >= timing.timeoutMs) {
    const readiness = readinessEvidence(newPods, snapshot.events);
    const kind: RolloutFailureKind = readiness.length > 0 ? "readiness" : "timeout";
    return {
      state: "failed",
      kind,
      message: `The rollout did not finish within ${Math.round(timing.timeoutMs / 1000)} s: still waiting for ${waitingFor}.`,
      evidence: readiness,
      hint:
        kind === "readiness"
          ? "The readiness probe keeps failing: check the probe path and port, and give a slow-loading model more time (deploy.probes.readiness.initialDelaySeconds)."
          : "Raise deploy.rolloutTimeoutSeconds if the model needs longer to start, or check 'mlkube logs'.",
    };
  }
  return { state: "progressing", ready: readyNew, desired, waitingFor };
}

/** States that will not resolve by waiting (or, at the timeout, that waiting did not resolve). */
function firstDeadEnd(
  pods: readonly PodSnapshot[],
  events: readonly EventSnapshot[],
  state: { timedOut: boolean; othersTerminating: boolean },
): RolloutVerdict | undefined {
  const { timedOut } = state;
  for (const pod of pods) {
    if (pod.unschedulableMessage && (timedOut || !schedulingMayResolve(pod, state.othersTerminating))) {
      return {
        state: "failed",
        kind: "unschedulable",
        message: `Pod ${pod.name} cannot be scheduled: ${pod.unschedulableMessage}`,
        evidence: eventsOf(events, pod.name, ["FailedScheduling"]).slice(-3),
        hint: pod.unschedulableMessage.includes(NOT_READY_TAINT)
          ? "The node is not Ready: check 'kubectl describe node' (a kind node waits for its network plugin after create), or recreate the cluster."
          : "Lower deploy.resources.requests (or the manifest's requests) to what the local node has, or give the cluster more memory/CPU.",
      };
    }
    for (const container of pod.containers) {
      const terminated = container.lastTerminated;
      if (terminated?.reason === "OOMKilled") {
        const limit = pod.memoryLimits[container.name];
        return {
          state: "failed",
          kind: "oom-killed",
          message: `Container ${container.name} of pod ${pod.name} was OOMKilled${limit ? ` (memory limit ${limit})` : ""}, exit code ${terminated.exitCode ?? 137}.`,
          evidence: tail(container.previousLogTail),
          hint: limit
            ? `The model needs more than ${limit}: raise deploy.resources.limits.memory (or the manifest's limit), or load a smaller model.`
            : "Set a memory limit large enough for the model.",
        };
      }
      const waitingReason = container.waiting?.reason;
      const pullFailed = waitingReason === "ImagePullBackOff" || waitingReason === "ErrImagePull";
      const pullPersists = pullFailed && (timedOut || pullFailures(events, pod.name) >= PULL_FAILURES_TO_FAIL);
      if (pullPersists || waitingReason === "InvalidImageName" || waitingReason === "ErrImageNeverPull") {
        const image = container.image ?? "";
        return {
          state: "failed",
          kind: "image-pull",
          message: `Container ${container.name} of pod ${pod.name} cannot get its image ${image} (${waitingReason}, pull policy ${pod.imagePullPolicies[container.name] ?? "default"}).`,
          evidence: [container.waiting?.message, ...eventsOf(events, pod.name, ["Failed"])].filter((line): line is string => Boolean(line)),
          // The image may be the model's (a delivery problem) or any other the manifests name (a
          // sidecar's typo): the hint covers both, the evidence says which registry answered what.
          hint: `Check that ${image || "the image"} exists in a registry the node pulls from (name and tag). For the model's own image, check the delivery step (registry or load); with a load, use IfNotPresent and a unique tag, never :latest.`,
        };
      }
      const unconfigured = waitingReason === "CreateContainerConfigError" ? unconfigurable(pod.name, container, events, timedOut) : undefined;
      if (unconfigured) return unconfigured;
      const refused =
        container.running && !container.ready ? (refusedReadiness(pod.name, container, events) ?? closedPort(pod.name, container, events)) : undefined;
      if (refused) return refused;
      if (waitingReason === "CrashLoopBackOff" || (terminated && container.restartCount > 0 && !container.running && !container.ready)) {
        const exit = terminated ? `exit code ${terminated.exitCode ?? "?"}${terminated.reason ? ` (${terminated.reason})` : ""}` : "it keeps exiting";
        return {
          state: "failed",
          kind: "crash-loop",
          message: `Container ${container.name} of pod ${pod.name} keeps crashing: ${exit}, restarted ${container.restartCount} time(s)${terminated?.message ? `: ${terminated.message.trim().split("\n").at(-1)}` : ""}.`,
          evidence: tail(container.previousLogTail),
          hint: "The last lines of the crashed container's log are above; fix the error and save to rebuild. The previous version keeps serving.",
        };
      }
    }
  }
  return undefined;
}

/** The taint a node carries until it is Ready (kubernetes pkg/apis/core/well_known_taints.go). */
const NOT_READY_TAINT = "node.kubernetes.io/not-ready";

/**
 * Whether waiting can still get the pod scheduled: a node that is not Ready yet (kind's --wait
 * only warns on its timeout, so a new cluster's node can still be NotReady), old pods that still
 * hold their requests while they terminate, or a pod that has been unschedulable only briefly.
 */
function schedulingMayResolve(pod: PodSnapshot, othersTerminating: boolean): boolean {
  if (pod.unschedulableMessage?.includes(NOT_READY_TAINT) || othersTerminating) return true;
  return (pod.unschedulableForMs ?? 0) < UNSCHEDULABLE_GRACE_MS;
}

/** How many times the kubelet reported a failed pull for the pod (its events, counted). */
function pullFailures(events: readonly EventSnapshot[], podName: string): number {
  return events
    .filter((event) => event.involvedName === podName && event.reason === "Failed" && event.message.startsWith("Failed to pull image"))
    .reduce((sum, event) => sum + event.count, 0);
}

/**
 * A container the kubelet cannot configure: generateContainerConfig failed and startContainer
 * returned ErrCreateContainerConfig (kuberuntime_container.go), mostly for a ConfigMap, Secret or
 * key that env or envFrom names and that does not exist (`configmap "x" not found`, `couldn't find
 * key y in ConfigMap ns/x`, kubelet_pods.go). It is not terminal: the pod worker syncs a failed pod
 * again after its back-off (pod_workers.go: 10 s, jitter 0.5), so a ConfigMap applied just after
 * the Deployment, or made by a controller, still starts the pod. It fails once the kubelet has
 * retried and failed the same way (its Failed event counted twice, 5-15 s in): what is missing
 * then waits for the user, and the rollout timeout would change nothing.
 */
function unconfigurable(podName: string, container: ContainerSnapshot, events: readonly EventSnapshot[], timedOut: boolean): RolloutVerdict | undefined {
  const message = container.waiting?.message?.trim() ?? "";
  const failures = events.filter((event) => event.involvedName === podName && event.reason === "Failed" && event.message === `Error: ${message}`);
  if (!timedOut && failures.reduce((sum, event) => sum + event.count, 0) < 2) return undefined;
  const missingObject = /^(configmap|secret) "([^"]+)" not found$/.exec(message);
  const missingKey = /^couldn't find key (\S+) in (ConfigMap|Secret) (\S+)$/.exec(message);
  const fixReference = "or fix the reference (env/envFrom in your manifest; optional: true if the model starts without it)";
  return {
    state: "failed",
    kind: "config",
    message: `The kubelet cannot configure container ${container.name} of pod ${podName}: ${message || "CreateContainerConfigError"}.`,
    evidence: failures.map((event) => `${event.reason}: ${event.message}${event.count > 1 ? ` (x${event.count})` : ""}`),
    hint: missingObject
      ? `Create the ${missingObject[1] === "configmap" ? "ConfigMap" : "Secret"} ${missingObject[2]} in the pod's namespace (kubectl create ${missingObject[1]}${missingObject[1] === "secret" ? " generic" : ""} ${missingObject[2]} --from-literal=KEY=VALUE -n NAMESPACE, or add it to your manifests), ${fixReference}; the kubelet then starts the pod by itself.`
      : missingKey
        ? `Add the key ${missingKey[1]} to ${missingKey[2]} ${missingKey[3]}, ${fixReference}; the kubelet then starts the pod by itself.`
        : "Fix what the kubelet's message names in the container's spec, then save to redeploy.",
  };
}

/** A running container whose readiness path answers the same 4xx every time: a wrong path, not a slow start. */
function refusedReadiness(podName: string, container: ContainerSnapshot, events: readonly EventSnapshot[]): RolloutVerdict | undefined {
  const path = container.readinessPath;
  if (path === undefined) return undefined;
  const clientErrors = events
    .filter((event) => event.involvedName === podName && event.reason === "Unhealthy")
    .flatMap((event) => {
      const status = /^Readiness probe failed: HTTP probe failed with statuscode: (4\d\d)$/.exec(event.message)?.[1];
      return status ? [{ status, count: event.count, line: `${event.reason}: ${event.message}${event.count > 1 ? ` (x${event.count})` : ""}` }] : [];
    });
  const statuses = new Set(clientErrors.map((error) => error.status));
  const count = clientErrors.reduce((sum, error) => sum + error.count, 0);
  const status = [...statuses][0];
  if (statuses.size !== 1 || status === undefined || count < SAME_CLIENT_ERROR_PROBES) return undefined;
  return {
    state: "failed",
    kind: "readiness-refused",
    message: `Pod ${podName} never gets ready: its readiness probe GET ${path} answers ${status} every time (${count} probes); ${status === "404" ? `the server has no route at ${path}` : `the server refuses ${path}`}.`,
    evidence: clientErrors.map((error) => error.line),
    hint: `Set deploy.probes.readiness.path in mlkube.yaml (or the readinessProbe in your manifest) to a path the server answers with 200, such as /v2/health/ready (Open Inference Protocol) or /v1/models/NAME (KServe v1); without a path mlkube finds one itself.`,
    refused: { pod: podName, path },
  };
}

/** The probed port of a readiness probe that found it closed: `dial tcp 10.244.0.5:8080: connect: connection refused` (kubelet's words, HTTP and TCP probes). */
const PORT_REFUSED = /^Readiness probe failed: (?:Get "[^"]*": )?dial tcp \S+:(\d+): connect: connection refused$/;

/** The ports of a running container's refused readiness probes, with how often each was refused. */
export function refusedPorts(podName: string, events: readonly EventSnapshot[]): Map<number, number> {
  const ports = new Map<number, number>();
  for (const event of events) {
    const port = event.involvedName === podName && event.reason === "Unhealthy" ? PORT_REFUSED.exec(event.message)?.[1] : undefined;
    if (port) ports.set(Number(port), (ports.get(Number(port)) ?? 0) + event.count);
  }
  return ports;
}

/**
 * A running container whose probed port refuses connections while its log says the server listens
 * elsewhere: another port, or the loopback address only (which neither the kubelet nor a Service
 * reaches). A server that has not announced itself yet may still be loading: that keeps waiting.
 */
function closedPort(podName: string, container: ContainerSnapshot, events: readonly EventSnapshot[]): RolloutVerdict | undefined {
  const [refused] = [...refusedPorts(podName, events)].filter(([, count]) => count >= SAME_CLIENT_ERROR_PROBES);
  if (!refused) return undefined;
  const [port, count] = refused;
  const announced = listenAnnouncements(container.currentLogTail ?? []);
  const onPort = announced.filter((entry) => entry.port === port);
  const elsewhere = announced.filter((entry) => entry.port !== port && !isLoopback(entry.host));
  const evidence = eventsOf(events, podName, ["Unhealthy"]).slice(-2);
  const closed = `Pod ${podName} never gets ready: nothing accepts connections on port ${port} (its readiness probe was refused ${count} times)`;
  if (onPort.length > 0 && onPort.every((entry) => isLoopback(entry.host))) {
    return {
      state: "failed",
      kind: "port-closed",
      message: `${closed}; the server's log says it listens on ${onPort[0]!.host}:${port} only, which the kubelet's probes and the Service cannot reach.`,
      evidence: [...evidence, `log: ${onPort[0]!.line}`],
      hint: 'Make the server listen on all addresses (0.0.0.0): e.g. app.run(host="0.0.0.0") for Flask, uvicorn --host 0.0.0.0, gunicorn --bind 0.0.0.0:PORT. The previous version keeps serving.',
    };
  }
  if (onPort.length === 0 && elsewhere.length > 0) {
    const other = elsewhere[0]!;
    return {
      state: "failed",
      kind: "port-closed",
      message: `${closed}, but the server's log says it listens on port ${other.port}.`,
      evidence: [...evidence, `log: ${other.line}`],
      hint: `Start the server on port ${port}, or set port: ${other.port} in mlkube.yaml (with your own manifests: the containerPort and the probes' port). The previous version keeps serving.`,
    };
  }
  return undefined;
}

function describeWaiting(snapshot: RolloutSnapshot, newPods: readonly PodSnapshot[], readyNew: number): string {
  if (snapshot.newTemplateHash === undefined || snapshot.observedGeneration < snapshot.generation) return "the Deployment controller to start the new version";
  const parts = [`${readyNew} of ${snapshot.desiredReplicas} new replica(s) ready`];
  const notReady = newPods.find((pod) => !pod.ready);
  if (notReady) {
    const waiting = notReady.containers.find((container) => container.waiting?.reason)?.waiting?.reason;
    const unschedulable = notReady.unschedulableMessage && `unschedulable (${notReady.unschedulableMessage.split(/\. preemption:/)[0]})`;
    parts.push(
      `pod ${notReady.name}: ${unschedulable || waiting || (notReady.phase === "Running" ? "running, not ready yet" : (notReady.phase ?? "pending"))}`,
    );
  }
  const old = snapshot.replicas - snapshot.updatedReplicas;
  if (old > 0 && readyNew >= snapshot.desiredReplicas) parts.push(`${old} old replica(s) to terminate`);
  return parts.join("; ");
}

function readinessEvidence(pods: readonly PodSnapshot[], events: readonly EventSnapshot[]): string[] {
  return pods.flatMap((pod) => eventsOf(events, pod.name, ["Unhealthy"])).slice(-3);
}

function eventsOf(events: readonly EventSnapshot[], name: string, reasons: string[]): string[] {
  return events
    .filter((event) => event.involvedName === name && reasons.includes(event.reason))
    .map((event) => `${event.reason}: ${event.message}${event.count > 1 ? ` (x${event.count})` : ""}`);
}

function tail(lines: readonly string[] | undefined): string[] {
  return (lines ?? []).slice(-10);
}
