import { Log, type CoreV1Event, type V1Deployment, type V1Pod, type V1ReplicaSet } from "@kubernetes/client-node";
import { PassThrough } from "node:stream";
import { judgeRollout, refusedPorts, type PodSnapshot, type RolloutSnapshot, type RolloutVerdict } from "../../core/rollout.js";
import { UserError } from "../../errors.js";
import { labelSelector } from "../../manifests/labels.js";
import { lostConnection } from "../connection-errors.js";
import type { KubeAccess } from "./client.js";
import { watchList } from "./watch-list.js";

export interface RolloutProgress {
  ready: number;
  desired: number;
  waitingFor: string;
}

/** Failed watch requests in a row (0.5 + 1 + 2 + 4 s of back-off between them) before the wait gives up. */
const WATCH_FAILURES_TOLERATED = 5;

export type RolloutOutcome = Extract<RolloutVerdict, { state: "complete" | "failed" }>;

/**
 * Waits for a Deployment's rollout by watching it, its ReplicaSets and pods (no polling loop):
 * done when the new ReplicaSet's replicas are all updated and ready; failed as soon as a state
 * that will not resolve itself appears, or at the timeout, with the reason and the evidence.
 */
export async function waitForRollout(
  kube: KubeAccess,
  target: { namespace: string; name: string },
  options: {
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    onProgress?: ((progress: RolloutProgress) => void) | undefined;
    /** false: the user may not list events (kube/rights.ts), so they are not asked for at all. */
    eventsAllowed?: boolean | undefined;
  },
): Promise<RolloutOutcome> {
  const { namespace, name } = target;
  const started = performance.now();
  const deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
  const selector = labelSelector(deployment.spec?.selector.matchLabels ?? {});

  return new Promise<RolloutOutcome>((resolve, reject) => {
    let settled = false;
    let judging = false;
    let rejudge = false;
    let lastProgress = "";
    /** Why the pods' events cannot be read (a user without the right to list them), once known. */
    let eventsForbidden: string | undefined = options.eventsAllowed === false ? eventsForbiddenLine(namespace) : undefined;
    const finish = (outcome: RolloutOutcome | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(recheck);
      options.signal?.removeEventListener("abort", onAbort);
      for (const watch of watches) watch.stop();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => finish(new UserError("cancelled", "Waiting for the rollout was cancelled."));

    const judge = async () => {
      if (settled) return;
      if (judging) {
        rejudge = true;
        return;
      }
      judging = true;
      try {
        const snapshot = snapshotOf(deployments.items()[0], replicaSets.items(), pods.items(), []);
        if (!snapshot) return;
        const timing = { elapsedMs: performance.now() - started, timeoutMs: options.timeoutMs };
        let verdict = judgeRollout(snapshot, timing);
        if (
          verdict.state === "failed" ||
          timing.elapsedMs >= timing.timeoutMs ||
          awaitsReadiness(snapshot) ||
          awaitsConfiguration(snapshot) ||
          awaitsImage(snapshot)
        ) {
          // Evidence costs API calls: fetch it only when there is something to explain.
          const explained = await withEvidence(kube, namespace, snapshot, eventsForbidden);
          eventsForbidden = explained.eventsForbidden;
          verdict = judgeRollout(explained.snapshot, timing);
          // Without events some dead ends show only at the timeout; the failure says why its evidence is thin.
          if (verdict.state === "failed" && eventsForbidden) verdict = { ...verdict, evidence: [...verdict.evidence, eventsForbidden] };
        }
        if (verdict.state === "progressing") {
          const line = `${verdict.ready}/${verdict.desired} ${verdict.waitingFor}`;
          if (line !== lastProgress) options.onProgress?.({ ready: verdict.ready, desired: verdict.desired, waitingFor: verdict.waitingFor });
          lastProgress = line;
          return;
        }
        finish(verdict);
      } catch (error) {
        finish(error as Error);
      } finally {
        judging = false;
        if (rejudge && !settled) {
          rejudge = false;
          void judge();
        }
      }
    };
    const onError = (error: unknown, failuresInARow: number) => {
      // A dropped watch is re-established by watchList, with back-off. What no retry fixes ends the
      // wait now, with its cause, instead of at the rollout timeout.
      const status = (error as { code?: unknown }).code;
      if (status === 401 || status === 403) {
        finish(
          new UserError("cluster", `Not allowed to watch the rollout of ${namespace}/${name} (HTTP ${status}): ${(error as Error).message.split("\n")[0]}`, {
            hint: "Check your rights in this context: 'kubectl auth can-i watch pods -n NAMESPACE'.",
          }),
        );
        return;
      }
      if (status === 404) {
        finish(
          new UserError("rollout", `Deployment ${namespace}/${name} (or its namespace) was deleted while mlkube waited for its rollout.`, {
            hint: "Save a file or press r to deploy it again.",
          }),
        );
        return;
      }
      const lost = error instanceof UserError ? error : lostConnection(error);
      if (lost) return finish(lost);
      // Anything else (the API server's 500s, an ERROR event) may pass; one that keeps coming back
      // (about 7 s of retries) is the answer, said with its cause.
      if (failuresInARow >= WATCH_FAILURES_TOLERATED) {
        finish(
          new UserError(
            "cluster",
            `Could not follow the rollout of ${namespace}/${name}: the API server failed ${failuresInARow} times in a row: ${(error as Error).message.split("\n")[0]}`,
            {
              hint: "Check the API server ('kubectl get --raw /readyz?verbose'), then save a file or press r to deploy again.",
            },
          ),
        );
      }
    };
    const deployments = watchList<V1Deployment>(
      kube,
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      { fieldSelector: `metadata.name=${name}` },
      () => kube.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${name}` }),
      () => void judge(),
      onError,
    );
    const replicaSets = watchList<V1ReplicaSet>(
      kube,
      `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      { labelSelector: selector },
      () => kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector }),
      () => void judge(),
      onError,
    );
    const pods = watchList<V1Pod>(
      kube,
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector: selector },
      () => kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
      () => void judge(),
      onError,
    );
    const watches = [deployments, replicaSets, pods];
    const deadline = setTimeout(() => void judge(), options.timeoutMs + 10);
    // A pod that runs but fails its readiness probe, or that the kubelet retries with the same
    // config error, changes nothing a watch sees: its events are read on this clock instead, so a
    // path that answers 4xx every time fails in seconds.
    const recheck = setInterval(() => void judge(), READINESS_RECHECK_MS);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
  });
}

/** How often the events of a running, not-ready new pod are read while its readiness probe fails. */
const READINESS_RECHECK_MS = 1_000;

/** A new pod runs but its readiness probe (HTTP or TCP) has not passed: only its events and its log tell why. */
function awaitsReadiness(snapshot: RolloutSnapshot): boolean {
  return snapshot.pods.some(
    (pod) =>
      !pod.deleting && pod.templateHash === snapshot.newTemplateHash && pod.containers.some((container) => container.running === true && !container.ready),
  );
}

/** A new pod's container the kubelet cannot configure yet: its Failed events say whether the kubelet retried it in vain. */
function awaitsConfiguration(snapshot: RolloutSnapshot): boolean {
  return snapshot.pods.some(
    (pod) =>
      !pod.deleting &&
      pod.templateHash === snapshot.newTemplateHash &&
      pod.containers.some((container) => container.waiting?.reason === "CreateContainerConfigError"),
  );
}

/** A new pod's image pull failed: its Failed events say whether the kubelet's retry failed too. */
function awaitsImage(snapshot: RolloutSnapshot): boolean {
  return snapshot.pods.some(
    (pod) =>
      !pod.deleting &&
      pod.templateHash === snapshot.newTemplateHash &&
      pod.containers.some((container) => container.waiting?.reason === "ErrImagePull" || container.waiting?.reason === "ImagePullBackOff"),
  );
}

/** The newest ReplicaSet is the one whose revision matches the Deployment's. */
function snapshotOf(deployment: V1Deployment | undefined, replicaSets: V1ReplicaSet[], pods: V1Pod[], events: CoreV1Event[]): RolloutSnapshot | undefined {
  if (!deployment) return undefined;
  const revision = deployment.metadata?.annotations?.["deployment.kubernetes.io/revision"];
  const owned = replicaSets.filter((set) => set.metadata?.ownerReferences?.some((owner) => owner.uid === deployment.metadata?.uid));
  const newest = owned.find((set) => revision !== undefined && set.metadata?.annotations?.["deployment.kubernetes.io/revision"] === revision);
  const progressing = deployment.status?.conditions?.find((condition) => condition.type === "Progressing");
  return {
    desiredReplicas: deployment.spec?.replicas ?? 1,
    generation: deployment.metadata?.generation ?? 0,
    observedGeneration: deployment.status?.observedGeneration ?? 0,
    updatedReplicas: deployment.status?.updatedReplicas ?? 0,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
    availableReplicas: deployment.status?.availableReplicas ?? 0,
    replicas: deployment.status?.replicas ?? 0,
    newTemplateHash: newest?.metadata?.labels?.["pod-template-hash"],
    progressingReason: progressing?.reason,
    pods: pods.map(podSnapshot),
    events: events.map((event) => ({
      involvedName: event.involvedObject.name ?? "",
      reason: event.reason ?? "",
      message: event.message ?? "",
      count: event.count ?? 1,
    })),
  };
}

function podSnapshot(pod: V1Pod): PodSnapshot {
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
  const unschedulable = scheduled?.status === "False" && scheduled.reason === "Unschedulable";
  return {
    name: pod.metadata?.name ?? "?",
    templateHash: pod.metadata?.labels?.["pod-template-hash"],
    phase: pod.status?.phase,
    ready: pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") ?? false,
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    unschedulableMessage: unschedulable ? scheduled.message : undefined,
    unschedulableForMs: unschedulable && scheduled.lastTransitionTime ? Date.now() - new Date(scheduled.lastTransitionTime).getTime() : undefined,
    imagePullPolicies: Object.fromEntries((pod.spec?.containers ?? []).map((container) => [container.name, container.imagePullPolicy])),
    memoryLimits: Object.fromEntries((pod.spec?.containers ?? []).map((container) => [container.name, container.resources?.limits?.memory])),
    containers: (pod.status?.containerStatuses ?? []).map((status) => ({
      name: status.name,
      readinessPath: pod.spec?.containers.find((container) => container.name === status.name)?.readinessProbe?.httpGet?.path,
      ready: status.ready,
      restartCount: status.restartCount,
      image: status.image,
      running: status.state?.running !== undefined,
      waiting: status.state?.waiting ? { reason: status.state.waiting.reason, message: status.state.waiting.message } : undefined,
      lastTerminated: status.lastState?.terminated
        ? { exitCode: status.lastState.terminated.exitCode, reason: status.lastState.terminated.reason, message: status.lastState.terminated.message }
        : undefined,
    })),
  };
}

function eventsForbiddenLine(namespace: string): string {
  return `(the pods' events are not shown: this user may not list events in namespace ${namespace})`;
}

/**
 * Adds the pods' events and, for crashed containers, the previous container's last log lines. A
 * user who may not list events (a shared cluster, --provider context) gets the verdicts that need
 * no events, and a line saying why the rest waits for the timeout: never a failed rollout for a 403.
 */
async function withEvidence(
  kube: KubeAccess,
  namespace: string,
  snapshot: RolloutSnapshot,
  knownForbidden: string | undefined,
): Promise<{ snapshot: RolloutSnapshot; eventsForbidden: string | undefined }> {
  const names = new Set(snapshot.pods.map((pod) => pod.name));
  let eventsForbidden = knownForbidden;
  const listed = eventsForbidden
    ? []
    : await kube.core.listNamespacedEvent({ namespace, fieldSelector: "involvedObject.kind=Pod" }).then(
        (list) => list.items,
        (error: unknown) => {
          if ((error as { code?: unknown }).code !== 403) throw error;
          eventsForbidden = eventsForbiddenLine(namespace);
          return [];
        },
      );
  const events = listed.filter((event) => names.has(event.involvedObject.name ?? ""));
  const podEvents = events.map((event) => ({
    involvedName: event.involvedObject.name ?? "",
    reason: event.reason ?? "",
    message: event.message ?? "",
    count: event.count ?? 1,
  }));
  const pods = await Promise.all(
    snapshot.pods.map(async (pod) => ({
      ...pod,
      containers: await Promise.all(
        pod.containers.map(async (container) => {
          const withPrevious = container.lastTerminated
            ? { ...container, previousLogTail: await containerLogTail(kube, namespace, pod.name, container.name, { previous: true, lines: 15 }) }
            : container;
          // A probed port that refuses: the server's start-up line says where it listens instead.
          const portRefused = container.running && !container.ready && refusedPorts(pod.name, podEvents).size > 0;
          return portRefused
            ? { ...withPrevious, currentLogTail: await containerLogTail(kube, namespace, pod.name, container.name, { previous: false, lines: 40 }) }
            : withPrevious;
        }),
      ),
    })),
  );
  return { snapshot: { ...snapshot, pods, events: podEvents }, eventsForbidden };
}

/** The last LINES non-empty lines of a container's log, or of its previous run's; none when there is no such log (yet). */
export async function containerLogTail(
  kube: KubeAccess,
  namespace: string,
  pod: string,
  container: string,
  options: { previous: boolean; lines: number },
): Promise<string[]> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  try {
    await new Promise<void>((resolve, reject) => {
      sink.on("end", resolve);
      new Log(kube.config)
        .log(namespace, pod, container, sink, (error) => (error ? reject(error) : resolve()), { previous: options.previous, tailLines: options.lines })
        .catch(reject);
    });
  } catch {
    return []; // no previous container (yet): nothing to show
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
}
