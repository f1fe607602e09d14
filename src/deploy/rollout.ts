/**
 * The middle of deploy-and-verify, shared by `mlkube dev` and `mlkube reproduce`: wait for the
 * rollout, then for the model to answer from this machine. The previous version serves until both.
 */
import type { Endpoint, ReadyCluster, ServiceRef } from "../adapters/cluster/provider.js";
import { waitForRollout, type RolloutOutcome, type RolloutProgress } from "../adapters/kube/rollout.js";
import { waitUntilReachable } from "../adapters/probe/wait-reachable.js";

/**
 * The model's URL on this machine, kept across rollouts: the same tunnel or port-forward while the
 * NodePort stays (refreshed, since a forward's pod may be gone), a new one when the port changes.
 */
export class ModelUrl {
  private open: { endpoint: Endpoint; nodePort: number } | undefined;

  constructor(private readonly cluster: Pick<ReadyCluster, "endpoint">) {}

  current(): Endpoint | undefined {
    return this.open?.endpoint;
  }

  /** The endpoint after a rollout, and whether it is a new one (the first, or another NodePort): the user is told its URL. */
  async afterRollout(service: ServiceRef): Promise<{ endpoint: Endpoint; opened: boolean }> {
    if (this.open?.nodePort === service.nodePort) {
      await this.open.endpoint.refresh();
      return { endpoint: this.open.endpoint, opened: false };
    }
    await this.close();
    const endpoint = await this.cluster.endpoint(service);
    this.open = { endpoint, nodePort: service.nodePort };
    return { endpoint, opened: true };
  }

  async close(): Promise<void> {
    const open = this.open;
    this.open = undefined;
    await open?.endpoint.close();
  }
}

interface RolloutTarget {
  namespace: string;
  deployment: string;
  /** The Service the URL reaches; the Deployment's name when there is none. */
  service: string | undefined;
  nodePort: number;
}

interface RolloutOptions {
  timeoutMs: number;
  /** The path the readiness probe asks: any answer there shows the model is reached. */
  readinessPath: string;
  signal?: AbortSignal | undefined;
  eventsAllowed?: boolean | undefined;
  onProgress?: ((progress: RolloutProgress) => void) | undefined;
  /** Awaited once the pods are ready, before the URL is waited for; opened: a new URL (the first, or another NodePort). */
  onReady?: ((endpoint: Endpoint, opened: boolean, rollout: { ready: number; desired: number }) => Promise<void>) | undefined;
}

export type RolledOut =
  Extract<RolloutOutcome, { state: "failed" }> | { state: "serving"; rollout: Extract<RolloutOutcome, { state: "complete" }>; endpoint: Endpoint };

/** Waits for the rollout; when it completes, for the model's URL to answer. A failed rollout is returned, not thrown: each caller tells it its own way. */
export async function rollOutAndReach(cluster: Pick<ReadyCluster, "kube">, target: RolloutTarget, url: ModelUrl, options: RolloutOptions): Promise<RolledOut> {
  const outcome = await waitForRollout(
    cluster.kube,
    { namespace: target.namespace, name: target.deployment },
    { timeoutMs: options.timeoutMs, signal: options.signal, eventsAllowed: options.eventsAllowed, onProgress: options.onProgress },
  );
  if (outcome.state === "failed") return outcome;
  const { endpoint, opened } = await url.afterRollout({ namespace: target.namespace, name: target.service ?? target.deployment, nodePort: target.nodePort });
  await options.onReady?.(endpoint, opened, outcome);
  await waitUntilReachable(`${endpoint.url}${options.readinessPath}`, { timeoutMs: 30_000, signal: options.signal });
  return { state: "serving", rollout: outcome, endpoint };
}
