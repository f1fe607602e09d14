/**
 * A reproduction on the cluster, through the same deploy-and-verify steps as `mlkube dev`
 * (src/deploy): the model's image built and delivered, the rollout watched, the recorded requests
 * replayed on the new version alone, and what the production settings caused read back.
 */
import type { ReadyCluster } from "../adapters/cluster/provider.js";
import { ImageBuilder } from "../adapters/docker/build.js";
import { FileHashCache } from "../adapters/docker/build-context.js";
import { displayPath } from "../config/errors.js";
import type { ResolvedConfig } from "../config/load.js";
import type { SmokeCase } from "../core/smoke-cases.js";
import { buildForCluster, deliverToCluster } from "../deploy/image.js";
import { ModelUrl, rollOutAndReach } from "../deploy/rollout.js";
import { replayOnNewVersion } from "../deploy/verify.js";
import { isUserError } from "../errors.js";
import { labelSelector } from "../manifests/labels.js";
import { findingFromRollout, oomFindings, readinessFinding, throttlingFinding, type Finding } from "./findings.js";
import { podHistories } from "./observe.js";
import { modelSettings, readinessPath, type ReproducePlan } from "./plan.js";
import { judgeReplay, type ReproduceReport } from "./report.js";

/** Builds the model's image and delivers it to the cluster; returns the reference the pods pull. */
export async function buildAndDeliver(cluster: ReadyCluster, config: ResolvedConfig, progress: (line: string) => void): Promise<string> {
  progress(`building ${displayPath(config.dir)}`);
  const built = await buildForCluster(cluster, new ImageBuilder(cluster.buildEngine, new FileHashCache()), config, {
    progress,
    onEvent: (event) => {
      if (event.type === "step") progress(`  step ${event.step}/${event.totalSteps}: ${event.instruction}`);
      else if (event.type === "progress" && event.step.status === "running" && event.step.instruction !== undefined) progress(`  step ${event.step.name}`);
    },
  });
  for (const line of built.prepared) progress(line);
  progress(`built ${built.reference}${built.cached ? " (unchanged)" : ""}; delivering (${cluster.delivery.path})`);
  const delivered = await deliverToCluster(cluster, built.image);
  progress(`delivered: ${delivered.detail}`);
  return delivered.podImage;
}

/** Waits for the rollout, replays the requests, and reads back what the production settings caused. */
export async function runAndObserve(
  cluster: ReadyCluster,
  config: ResolvedConfig,
  plan: ReproducePlan,
  cases: SmokeCase[] | undefined,
  progress: (line: string) => void,
  note: (line: string) => void,
): Promise<ReproduceReport> {
  const { model } = plan;
  const settings = modelSettings(model);
  const url = new ModelUrl(cluster);
  try {
    const target = { namespace: model.namespace, deployment: model.name, service: model.service, nodePort: config.service.nodePort };
    const rolled = await rollOutAndReach(cluster, target, url, {
      timeoutMs: config.deploy.rolloutTimeoutSeconds * 1000,
      readinessPath: readinessPath(model),
      eventsAllowed: cluster.rights?.listEvents !== false,
      onProgress: (step) => progress(`rollout: ready ${step.ready}/${step.desired}: ${step.waitingFor}`),
    });
    if (rolled.state === "failed") {
      const finding = findingFromRollout(rolled, settings);
      return { rollout: rolled, findings: finding ? [finding] : [], replaySkipped: cases ? "the rollout failed" : undefined };
    }
    const { rollout, endpoint } = rolled;
    const deployment = await cluster.kube.apps.readNamespacedDeployment({ name: model.name, namespace: model.namespace });
    const selector = labelSelector(deployment.spec?.selector.matchLabels ?? {});
    const pods = { namespace: model.namespace, selector, container: settings.container };
    const findings: Finding[] = [];
    const started = readinessFinding(await podHistories(cluster.kube, pods, note), settings);
    if (started) findings.push(started);
    if (cases === undefined) return { rollout, endpoint: endpoint.url, findings };

    const replayed = await replayOnNewVersion(cluster.kube, { ...target, url: endpoint.url, urlError: endpoint.lastError }, cases, { progress }).catch(
      (error: unknown) => {
        // A Service that never routes to the new pods alone, or a model killed by the first
        // request, answers nothing worth comparing: the report says why, with the pods' story.
        if (isUserError(error) && (error.kind === "unreachable" || error.kind === "rollout")) return error;
        throw error;
      },
    );
    findings.push(...oomFindings(await podHistories(cluster.kube, pods, note), settings, "while serving"));
    if (replayed instanceof Error) {
      const why = replayed.kind === "unreachable" ? `the model stopped answering: ${replayed.message}` : replayed.message;
      return { rollout, endpoint: endpoint.url, replaySkipped: why, findings };
    }
    const replay = judgeReplay(cases, replayed);
    const throttled = throttlingFinding(replay, settings);
    if (throttled) findings.push(throttled);
    return { rollout, endpoint: endpoint.url, replay, findings };
  } finally {
    await url.close();
  }
}
