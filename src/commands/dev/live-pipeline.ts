import type Dockerode from "dockerode";
import { ImageBuilder } from "../../adapters/docker/build.js";
import { FileHashCache } from "../../adapters/docker/build-context.js";
import { baseImagesFor, buildRequestFor } from "../../adapters/docker/build-request.js";
import type { Endpoint, ReadyCluster } from "../../adapters/cluster/provider.js";
import { applyWithPrune } from "../../adapters/kube/apply.js";
import { waitForRollout } from "../../adapters/kube/rollout.js";
import { loadSmokeCases } from "../../adapters/probe/cases.js";
import { verifyNewVersion } from "../../adapters/probe/verify-version.js";
import { waitUntilReachable } from "../../adapters/probe/wait-reachable.js";
import { loadConfig, type ResolvedConfig } from "../../config/load.js";
import { compareRuns, type SmokeResult } from "../../core/smoke-results.js";
import { combineRuns } from "../../core/verification.js";
import { UserError } from "../../errors.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import { planManifests } from "../../manifests/plan.js";
import type { KubeObject } from "../../manifests/types.js";
import type { Pipeline } from "../../engine/runner.js";

/** What the live pipeline needs from the dev session, and what it tells it. */
export interface LiveSession {
  config: ResolvedConfig;
  buildArgs: Readonly<Record<string, string>>;
  cluster: ReadyCluster;
  hashes: FileHashCache;
  /** Called once the model's Deployment exists, with its pod selector (logs follow from then on). */
  onDeployed(target: { namespace: string; name: string; selector: string }): void;
  onEndpoint(url: string): void;
  onConfig(config: ResolvedConfig): void;
}

/**
 * The dev loop's stages against the real world: Docker builds, the cluster's delivery path,
 * server-side apply, the watched rollout and HTTP smoke tests.
 */
export function livePipeline(session: LiveSession): Pipeline & { endpoint(): Endpoint | undefined } {
  const builder = new ImageBuilder(session.cluster.buildEngine.client, session.hashes);
  const docker: Dockerode = session.cluster.buildEngine.client;
  let built: { repository: string; tag: string; imageId: string } | undefined;
  let deployment: { namespace: string; name: string } | undefined;
  let service: string | undefined;
  let endpoint: Endpoint | undefined;
  let previousResults: SmokeResult[] | undefined;

  return {
    endpoint: () => endpoint,

    async reloadConfig() {
      // On failure the error is shown and session.config stays the last valid one.
      session.config = await loadConfig(session.config.dir, { buildArgs: session.buildArgs });
      session.onConfig(session.config);
    },

    async build(context) {
      const request = buildRequestFor(session.config);
      // minikube: a base image only the host's engine has is loaded into the node's engine first.
      const provided = (await session.cluster.provideBaseImages?.(await baseImagesFor(request), { signal: context.signal, progress: (line) => context.progress(line) })) ?? [];
      const result = await builder.build(request, {
        signal: context.signal,
        onEvent: (event) => {
          if (event.type === "step") context.progress(`step ${event.step}/${event.totalSteps}: ${event.instruction}`, { current: event.step, total: event.totalSteps });
          else if (event.type === "context" && event.bytesSent > 1_000_000) context.progress(`sending context: ${(event.bytesSent / 1_000_000).toFixed(0)} MB`);
        },
      });
      built = { repository: request.repository, tag: result.tag, imageId: result.imageId };
      const detail = result.cached ? "unchanged: image already built" : `${result.cachedSteps}/${result.totalSteps} steps from cache`;
      return { reference: result.reference, cached: result.cached, detail: [...provided, detail].join("; ") };
    },

    async deliver(context) {
      if (!built) throw new Error("deliver ran without a build");
      const result = await session.cluster.deliver(built, {
        signal: context.signal,
        onBytes: (bytes) => context.progress(`${session.cluster.delivery.path}: ${(bytes / 1_000_000).toFixed(1)} MB moved`),
      });
      return { path: result.path, podImage: result.podImage, imageId: built.imageId, detail: `${result.detail}, ${(result.bytesMoved / 1_000_000).toFixed(1)} MB moved` };
    },

    async apply(context, podImage, imageId) {
      // The image being deployed, which is not always the last one built (a build whose delivery
      // failed is never deployed).
      const runAsUser = await numericImageUser(docker, podImage, imageId);
      const plan = await planManifests(session.config, { image: podImage, runAsUser });
      context.progress(`applying ${plan.objects.length} object(s)`);
      const result = await applyWithPrune(session.cluster.kube, plan.objects as never, { label: PRUNE_LABEL, model: session.config.name });
      const target = modelDeployment(plan.objects, session.config);
      deployment = { namespace: target.namespace, name: target.name };
      service = modelService(plan.objects, session.config);
      session.onDeployed({ ...deployment, selector: target.selector });
      const pruned = result.pruned.length > 0 ? `, pruned ${result.pruned.join(", ")}` : "";
      return { detail: `${result.applied.length} object(s) applied${pruned}` };
    },

    async rollout(context) {
      if (!deployment) throw new Error("rollout ran before apply");
      const outcome = await waitForRollout(session.cluster.kube, deployment, {
        timeoutMs: session.config.deploy.rolloutTimeoutSeconds * 1000,
        signal: context.signal,
        onProgress: (progress) => context.progress(`ready ${progress.ready}/${progress.desired}: ${progress.waitingFor}`, { current: progress.ready, total: progress.desired }),
      });
      if (outcome.state === "failed") {
        throw new UserError("rollout", `${outcome.message} The previous version keeps serving.`, { details: outcome.evidence, hint: outcome.hint });
      }
      // Port-forwards point at a pod; after a rollout that pod may be gone.
      if (!endpoint) {
        endpoint = await session.cluster.endpoint({ namespace: deployment.namespace, name: service ?? session.config.name, nodePort: session.config.service.nodePort });
        session.onEndpoint(endpoint.url);
      } else {
        await endpoint.refresh();
      }
      context.progress(`ready ${outcome.ready}/${outcome.desired}; waiting for ${endpoint.url} to answer`);
      await waitUntilReachable(`${endpoint.url}${session.config.deploy.probes.readiness.path}`, { timeoutMs: 30_000, signal: context.signal });
      return { detail: `ready ${outcome.ready}/${outcome.desired}, answering at ${endpoint.url}` };
    },

    async test(context) {
      if (!endpoint || !deployment) throw new UserError("rollout", "No endpoint to test: the model was never rolled out.", { hint: "Fix the earlier failure; tests run after the first successful rollout." });
      const cases = await loadSmokeCases(session.config);
      const target = { namespace: deployment.namespace, deployment: deployment.name, service, url: endpoint.url };
      const runs = await verifyNewVersion(session.cluster.kube, target, cases, { signal: context.signal, progress: (detail) => context.progress(detail) });
      // Changes since the last iteration compare answers of one new pod each time: attributable.
      const results = runs[0]?.results ?? [];
      const changes = previousResults ? compareRuns(previousResults, results).map((change) => `${change.test}: ${change.message}`) : [];
      previousResults = [...results];
      return { tests: combineRuns(runs), changes };
    },
  };
}

/** The Deployment that runs the model: the generated one, or the user's manifest that holds the model. */
function modelDeployment(objects: readonly KubeObject[], config: ResolvedConfig): { namespace: string; name: string; selector: string } {
  const deployments = objects.filter((object) => object.kind === "Deployment");
  const chosen = deployments.find((object) => object.metadata?.name === config.name) ?? deployments[0];
  if (!chosen?.metadata?.name) throw new UserError("config", "The rendered objects contain no Deployment to roll out.", { hint: "Add a Deployment to your manifests, or remove 'manifests:' to let mlkube generate one." });
  const matchLabels = ((chosen.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
  return {
    namespace: chosen.metadata.namespace ?? config.namespace,
    name: chosen.metadata.name,
    selector: Object.entries(matchLabels).map(([key, value]) => `${key}=${value}`).join(","),
  };
}

/** The Service on the pinned nodePort (generated, or the user's LoadBalancer turned NodePort). */
function modelService(objects: readonly KubeObject[], config: ResolvedConfig): string | undefined {
  const services = objects.filter((object) => object.kind === "Service");
  const onPort = services.find((object) => ((object.spec as { ports?: { nodePort?: number }[] } | undefined)?.ports ?? []).some((port) => port.nodePort === config.service.nodePort));
  return (onPort ?? services[0])?.metadata?.name;
}

/** The image's USER when it is a non-zero number: then the pod may require runAsNonRoot. */
async function numericImageUser(docker: Dockerode, reference: string, imageId: string | undefined): Promise<number | undefined> {
  try {
    const info = await docker.getImage(imageId ?? reference).inspect();
    const user = (info.Config?.User ?? "").split(":")[0] ?? "";
    return /^\d+$/.test(user) ? Number(user) : undefined;
  } catch {
    return undefined; // not inspectable here (e.g. only in the cluster): leave runAsNonRoot out
  }
}
