import type { SmokeCase } from "../core/smoke-cases.js";
import type { SmokeResult } from "../core/smoke-results.js";
import { urlAgreesWithPods, type VerificationRun } from "../core/verification.js";
import { UserError, isUserError } from "../errors.js";
import type { KubeAccess } from "../adapters/kube/client.js";
import { PodConnections } from "../adapters/kube/pod-connections.js";
import { describeUnsettled, waitForServiceOnPods } from "../adapters/kube/service-endpoints.js";
import { servingVersion, type ServingVersion } from "../adapters/kube/version-pods.js";
import { runSmokeTests, type RunOptions } from "../adapters/probe/http.js";

export interface VersionTarget {
  namespace: string;
  deployment: string;
  /** The Service the model's URL reaches; without one only the pods are tested. */
  service: string | undefined;
  /** The model's NodePort on that Service: which of its ports the pods are asked on. */
  nodePort?: number | undefined;
  url: string;
  /** Why the URL's port-forward failed, when the URL is one (Endpoint.lastError). */
  urlError?: (() => string | undefined) | undefined;
}

export interface VerifyOptions {
  signal?: AbortSignal | undefined;
  progress?: ((detail: string) => void) | undefined;
  /** How long the Service may take to drop old pods from its endpoints. */
  routingTimeoutMs?: number | undefined;
  /**
   * How long the path behind the URL may lag behind the endpoints. kube-proxy rewrites its rules
   * at most once per minSyncPeriod (1 s by default in kube-proxy's iptables mode, which kind and
   * minikube run), so a request sent just after the endpoints changed can still reach an old pod.
   */
  routeLagMs?: number | undefined;
  /** The version's pods when the caller has just listed them (a sync moments ago): not asked again. */
  version?: ServingVersion | undefined;
  /** Connections to the pods the caller has open (a sync's answer checks): used, and left open. */
  connections?: PodConnections | undefined;
}

/**
 * Runs the smoke tests so that their verdict belongs to the new version: once against each ready
 * pod of the Deployment's current ReplicaSet (through the API server's port-forward, so only that
 * pod can answer), then through the model's URL once the Service routes to those pods alone. When
 * the URL fails a test that every pod passed, it is asked again until the route catches up.
 */
export async function verifyNewVersion(
  kube: KubeAccess,
  target: VersionTarget,
  cases: readonly SmokeCase[],
  options: VerifyOptions = {},
): Promise<VerificationRun[]> {
  const version = options.version ?? (await readyVersion(kube, target));
  // Whether the Service routes to these pods alone is asked while the pods are tested: neither
  // waits for the other, and only the URL's tests need both.
  const routingTimeoutMs = options.routingTimeoutMs ?? 30_000;
  const names = version.pods.map((pod) => pod.pod);
  const service = target.service;
  // Stopped when a pod test fails first: nothing keeps asking the API server after the verdict.
  const stopRouting = new AbortController();
  const onAbort = () => stopRouting.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const routingCheck = service
    ? waitForServiceOnPods(kube, { namespace: target.namespace, service, pods: names }, { timeoutMs: routingTimeoutMs, signal: stopRouting.signal })
    : undefined;
  routingCheck?.catch(() => undefined); // awaited below, unless a pod test fails first
  const runs: VerificationRun[] = [];
  const connections = options.connections ?? new PodConnections(kube, target.namespace);
  try {
    for (const pod of version.pods) {
      options.progress?.(`testing pod ${pod.pod}`);
      const connection = await connections.get(pod);
      const what = `pod ${pod.pod} (port ${pod.port}, through the API server)`;
      const results = await runOrExplain(connection.url, cases, what, { signal: options.signal, agent: connection.agent }, connection.lastError);
      runs.push({ target: pod.pod, via: "pod", results });
    }
  } catch (error) {
    stopRouting.abort();
    options.signal?.removeEventListener("abort", onAbort);
    throw error;
  } finally {
    if (!options.connections) await connections.closeAll();
  }
  if (!service || !routingCheck) return runs;

  options.progress?.(`waiting for Service ${service} to route to the new pods only`);
  const routing = await routingCheck.finally(() => options.signal?.removeEventListener("abort", onAbort));
  if (options.signal?.aborted) throw new UserError("cancelled", "The smoke tests were cancelled.");
  if (!routing.settled) {
    throw new UserError(
      "rollout",
      `The new version answered on its pods, but Service ${target.namespace}/${service} ${describeUnsettled(routing)} ${Math.round(routingTimeoutMs / 1000)} s after the rollout: the model's URL is not verified.`,
      { details: [`new pods: ${names.join(", ")}`], hint: SELECTOR_HINT },
    );
  }

  options.progress?.(`testing ${target.url}`);
  const lagMs = options.routeLagMs ?? 3_000;
  const started = performance.now();
  for (;;) {
    const lagging = performance.now() - started < lagMs;
    let results: SmokeResult[];
    try {
      results = await runOrExplain(target.url, cases, target.url, { signal: options.signal }, target.urlError);
    } catch (error) {
      // Rules still pointing at an old pod that is already gone (a server that exits at once on
      // SIGTERM) close the connection: the same lag, retried the same way.
      if (!lagging || !isUserError(error) || error.kind !== "unreachable") throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    const url: VerificationRun = { target: target.url, via: "url", results };
    if (urlAgreesWithPods(runs, url) || !lagging) return [...runs, url];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * kube-proxy applies endpoint changes to its rules at most once per --iptables-min-sync-period,
 * 1 s by default (kubernetes.io, kube-proxy reference), as kind and minikube run it.
 */
const KUBE_PROXY_MIN_SYNC_MS = 1_000;

const SELECTOR_HINT = "Check the Service's selector: it must select only this Deployment's pods ('kubectl get endpoints').";

/**
 * Sends each case once, through the model's URL as production's clients would, after the Service
 * routes to the new version's pods alone (`mlkube reproduce` replays recorded requests: a request
 * answered by an old pod would say nothing of the version under test, and one sent to every pod
 * as well would be replayed more than once).
 */
export async function replayOnNewVersion(
  kube: KubeAccess,
  target: VersionTarget,
  cases: readonly SmokeCase[],
  options: Pick<VerifyOptions, "signal" | "progress" | "routingTimeoutMs"> = {},
): Promise<SmokeResult[]> {
  const service = target.service;
  if (service) {
    const version = await readyVersion(kube, target);
    const routingTimeoutMs = options.routingTimeoutMs ?? 30_000;
    options.progress?.(`waiting for Service ${service} to route to the new pods only`);
    const names = version.pods.map((pod) => pod.pod);
    const routing = await waitForServiceOnPods(
      kube,
      { namespace: target.namespace, service, pods: names },
      { timeoutMs: routingTimeoutMs, signal: options.signal },
    );
    if (!routing.settled) {
      throw new UserError(
        "rollout",
        `Service ${target.namespace}/${service} ${describeUnsettled(routing)} ${Math.round(routingTimeoutMs / 1000)} s after the rollout, so a replay could not tell which version answered.`,
        { details: [`new pods: ${names.join(", ")}`], hint: SELECTOR_HINT },
      );
    }
    // The endpoints are right; the node's rules follow within one sync period.
    await new Promise((resolve) => setTimeout(resolve, KUBE_PROXY_MIN_SYNC_MS));
  }
  options.progress?.(`replaying ${cases.length} recorded request(s) against ${target.url}`);
  return runOrExplain(target.url, cases, target.url, { signal: options.signal }, target.urlError);
}

/** The Deployment's current version, with at least one pod ready to answer. */
async function readyVersion(kube: KubeAccess, target: VersionTarget): Promise<ServingVersion> {
  const version = await servingVersion(kube, target);
  if (version.pods.length > 0) return version;
  throw new UserError(
    "rollout",
    `No pod of the new version of ${target.namespace}/${target.deployment} (pod-template-hash ${version.templateHash}) is ready to answer the smoke tests.`,
    { hint: "The rollout did not leave a ready pod: check 'mlkube status' and 'mlkube logs'." },
  );
}

async function runOrExplain(
  url: string,
  cases: readonly SmokeCase[],
  what: string,
  run: Pick<RunOptions, "signal" | "agent">,
  forwardError: () => string | undefined = () => undefined,
): Promise<SmokeResult[]> {
  try {
    return await runSmokeTests(url, cases, run);
  } catch (error) {
    if (isUserError(error) && error.kind === "unreachable") {
      // Through a port-forward, a closed connection hides the real cause: the forward's own error.
      const cause = forwardError() ?? error.message.replace(/^The model at \S+ does not answer: /, "").replace(/\.$/, "");
      throw new UserError("unreachable", `The model does not answer on ${what}: ${cause}.`, { hint: error.hint, cause: error });
    }
    throw error;
  }
}
