import { readFile, stat } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { resolve } from "node:path";
import type { Endpoint, ReadyCluster } from "../adapters/cluster/provider.js";
import { selectProvider, type ClusterFlags } from "../adapters/cluster/select.js";
import { ImageBuilder } from "../adapters/docker/build.js";
import { FileHashCache } from "../adapters/docker/build-context.js";
import { baseImagesFor, buildRequestFor } from "../adapters/docker/build-request.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { contentReference } from "../adapters/docker/content-tag.js";
import { applyWithPrune, deleteModelObjects } from "../adapters/kube/apply.js";
import { clusterCapacity, existingSecretNames, podHistories } from "../adapters/kube/reproduce-observe.js";
import { waitForRollout } from "../adapters/kube/rollout.js";
import { describeUnsettled, waitForServiceOnPods } from "../adapters/kube/service-endpoints.js";
import { servingVersion } from "../adapters/kube/version-pods.js";
import { runSmokeTests } from "../adapters/probe/http.js";
import { waitUntilReachable } from "../adapters/probe/wait-reachable.js";
import { displayPath } from "../config/errors.js";
import { loadConfig, parseBuildArgs, type ResolvedConfig } from "../config/load.js";
import { findingFromRollout, oomFindings, readinessFinding, throttlingFinding, type Finding } from "../core/reproduce-findings.js";
import { exitCodeOf, formatReport, judgeReplay, type ReproduceReport } from "../core/reproduce-report.js";
import { parseRecordedRequests, type SmokeCase } from "../core/smoke-cases.js";
import { isUserError, UserError } from "../errors.js";
import { PRUNE_LABEL, labelSelector } from "../manifests/labels.js";
import { loadManifests } from "../manifests/load.js";
import { configForManifests } from "../manifests/reproduce-config.js";
import type { LocalCapacity } from "../manifests/reproduce-replicas.js";
import { describeSubstitution } from "../manifests/reproduce-substitution.js";
import { modelSettings, planReproduction, readinessPath, type ReproducePlan } from "../manifests/reproduce.js";
import { renderYaml } from "../manifests/render.js";
import { PLACEHOLDER_VALUE } from "../manifests/reproduce-secrets.js";
import { recordAt, type KubeObject } from "../manifests/types.js";
import { createStepPrinter } from "../ui/step-printer.js";

interface ReproduceCommandOptions extends ClusterFlags {
  model?: string | undefined;
  requests?: string | undefined;
  dryRun?: boolean | undefined;
  json?: boolean | undefined;
  includeSecrets?: boolean | undefined;
  buildArg?: string[] | undefined;
  cleanup?: boolean | undefined;
}

/**
 * `mlkube reproduce FILES...`: production manifests on the local cluster, as faithfully as it
 * allows, then the recorded requests replayed against them. Progress goes to stderr; stdout
 * carries what was changed and the report (or, with --json, one object). Exit 1 when the rollout
 * fails or a replayed response differs from its recording.
 */
export async function runReproduceCommand(
  files: string[],
  options: ReproduceCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const paths = await manifestPaths(files);
  // Read the requests before anything else, so a bad line fails fast and touches nothing.
  const cases = options.requests === undefined ? undefined : await loadRequests(options.requests);
  const config =
    options.model !== undefined
      ? await loadConfig(options.model, { buildArgs: parseBuildArgs(options.buildArg ?? []) })
      : configForManifests(
          (await loadManifests(paths)).map((document) => document.value),
          process.cwd(),
        );
  if (options.dryRun) return dryRun(paths, config, options, out);
  // Invalid manifests, or a model mlkube cannot watch, must not cost a cluster creation or a build.
  const preflight = await planReproduction(config, { files: paths, includeSecrets: options.includeSecrets, capacity: machineCapacity() });
  assertRollsOut(preflight);

  const docker = connectDocker();
  await ensureDockerReachable(docker);
  const provider = await selectProvider(config, options, { docker });
  const printer = createStepPrinter(err);
  const cluster = await provider.ensure(printer);
  printer.finish();
  const progress = (line: string) => err.write(`${line}\n`);
  // What this user may not read is said once, however often the read comes up.
  const noted = new Set<string>();
  const note = (line: string) => {
    if (!noted.has(line)) progress(line);
    noted.add(line);
  };

  const image = options.model === undefined ? undefined : await buildAndDeliver(cluster, config, progress);
  const existingSecrets = await existingSecretNames(cluster.kube, config.namespace, config.name);
  if (existingSecrets === "unknown")
    note(
      `this user may not list Secrets in namespace ${config.namespace}: no placeholder Secret is made, and those the pods need are used as the cluster has them`,
    );
  const plan = await planReproduction(config, {
    files: paths,
    image,
    includeSecrets: options.includeSecrets,
    capacity: await clusterCapacity(cluster.kube, preflight.model, { machine: machineCapacity(), note }),
    existingSecrets,
  });
  if (!options.json) out.write(changesText(plan, image === undefined));

  progress(`applying ${plan.objects.length} object(s) to context ${cluster.choice.context}`);
  await applyWithPrune(cluster.kube, plan.objects as never, { label: PRUNE_LABEL, model: config.name });
  const report = await runAndObserve(cluster, config, plan, cases, progress, note);
  out.write(options.json ? `${JSON.stringify({ ...jsonPlan(plan), ...report, exitCode: exitCodeOf(report) })}\n` : formatReport(report));

  if (options.cleanup) {
    const deleted = await deleteModelObjects(cluster.kube, config.namespace, { label: PRUNE_LABEL, model: config.name });
    progress(`cleanup: deleted ${deleted.join(", ") || "nothing"}`);
  } else if (!options.json) {
    out.write(
      `\nThe reproduction keeps running in context ${cluster.choice.context} (namespace ${plan.model.namespace}); --cleanup removes it after the report.\n`,
    );
  }
  return exitCodeOf(report);
}

function assertRollsOut(plan: ReproducePlan): void {
  if (plan.model.kind === "Deployment") return;
  throw new UserError("manifest", `The model runs in ${plan.model.kind} ${plan.model.name}; mlkube reproduce rolls out and watches Deployments only.`, {
    hint: "Reproduce with a Deployment of the same pod template, or use --dry-run to see the substitutions.",
  });
}

/** Without the cluster, the room for replicas is this machine's: kind and minikube nodes share it. */
function machineCapacity(): LocalCapacity {
  return { cpuCores: availableParallelism(), memoryBytes: totalmem(), source: "this machine" };
}

/** Checked here so that the fix names reproduce's arguments (load.ts speaks of mlkube.yaml and --from). */
async function manifestPaths(files: readonly string[]): Promise<string[]> {
  for (const file of files) {
    if (!(await stat(file).catch(() => undefined))) {
      throw new UserError("usage", `${displayPath(file)} does not exist.`, {
        hint: "Pass the production manifests: YAML files or directories of them, e.g. 'mlkube reproduce k8s/production/ --model .'.",
      });
    }
  }
  return files.map((file) => resolve(file));
}

async function loadRequests(file: string): Promise<SmokeCase[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EISDIR") throw cause;
    throw new UserError("usage", `--requests ${displayPath(file)} ${code === "ENOENT" ? "does not exist" : "is a directory"}.`, {
      hint: 'Pass a JSON Lines file of recorded requests, one per line: {"request": {"method": "POST", "path": "/predict", "body": {...}}, "response": {"status": 200, "body": {...}}}',
      cause,
    });
  }
  const cases = parseRecordedRequests(text, displayPath(file));
  if (cases.length === 0)
    throw new UserError("usage", `--requests ${displayPath(file)} holds no requests.`, { hint: "Add one recorded request per line, or leave out --requests." });
  return cases;
}

/** `--dry-run`: the YAML that would be applied, the changes as comments above it; nothing is contacted. */
async function dryRun(paths: string[], config: ResolvedConfig, options: ReproduceCommandOptions, out: NodeJS.WritableStream): Promise<number> {
  // The tag `mlkube build` would give; delivery adds the cluster registry's host in front of it.
  const image = options.model === undefined ? undefined : await contentReference(config);
  const plan = await planReproduction(config, { files: paths, image, includeSecrets: options.includeSecrets, capacity: machineCapacity() });
  const objects = plan.objects.map(redactSecret);
  if (options.json) {
    out.write(`${JSON.stringify({ ...jsonPlan(plan), objects })}\n`);
    return 0;
  }
  const comments = changesText(plan, image === undefined)
    .trimEnd()
    .split("\n")
    .map((line) => `# ${line}`.trimEnd());
  const header = "# mlkube reproduce --dry-run: nothing was applied. Replicas are fitted to this machine; a real run asks the cluster's nodes.";
  out.write(`${header}\n${comments.join("\n")}\n${renderYaml(objects)}`);
  return 0;
}

async function buildAndDeliver(cluster: ReadyCluster, config: ResolvedConfig, progress: (line: string) => void): Promise<string> {
  const request = buildRequestFor(config);
  progress(`building ${displayPath(config.dir)}`);
  for (const line of (await cluster.provideBaseImages?.(await baseImagesFor(request), { progress })) ?? []) progress(line);
  const built = await new ImageBuilder(cluster.buildEngine, new FileHashCache()).build(request, {
    onEvent: (event) => {
      if (event.type === "step") progress(`  step ${event.step}/${event.totalSteps}: ${event.instruction}`);
      else if (event.type === "progress" && event.step.status === "running" && event.step.instruction !== undefined) progress(`  step ${event.step.name}`);
    },
  });
  progress(`built ${built.reference}${built.cached ? " (unchanged)" : ""}; delivering (${cluster.delivery.path})`);
  const delivered = await cluster.deliver({ repository: request.repository, tag: built.tag, imageId: built.imageId });
  progress(`delivered: ${delivered.detail}`);
  return delivered.podImage;
}

/** Waits for the rollout, replays the requests, and reads back what the production settings caused. */
async function runAndObserve(
  cluster: ReadyCluster,
  config: ResolvedConfig,
  plan: ReproducePlan,
  cases: SmokeCase[] | undefined,
  progress: (line: string) => void,
  note: (line: string) => void,
): Promise<ReproduceReport> {
  const { model } = plan;
  const settings = modelSettings(model);
  const rollout = await waitForRollout(cluster.kube, model, {
    timeoutMs: config.deploy.rolloutTimeoutSeconds * 1000,
    onProgress: (step) => progress(`rollout: ready ${step.ready}/${step.desired}: ${step.waitingFor}`),
  });
  if (rollout.state === "failed") {
    const finding = findingFromRollout(rollout, settings);
    return { rollout, findings: finding ? [finding] : [], replaySkipped: cases ? "the rollout failed" : undefined };
  }

  const endpoint: Endpoint = await cluster.endpoint({ namespace: model.namespace, name: model.service ?? model.name, nodePort: config.service.nodePort });
  try {
    await waitUntilReachable(`${endpoint.url}${readinessPath(model)}`, { timeoutMs: 30_000 });
    const deployment = await cluster.kube.apps.readNamespacedDeployment({ name: model.name, namespace: model.namespace });
    const selector = labelSelector(deployment.spec?.selector.matchLabels ?? {});
    const target = { namespace: model.namespace, selector, container: settings.container };
    const findings: Finding[] = [];
    const started = readinessFinding(await podHistories(cluster.kube, target, note), settings);
    if (started) findings.push(started);
    if (cases === undefined) return { rollout, endpoint: endpoint.url, findings };

    const routed = await onlyNewVersionRouted(cluster, model, progress);
    if (routed !== undefined) return { rollout, endpoint: endpoint.url, replaySkipped: routed, findings };
    progress(`replaying ${cases.length} recorded request(s) against ${endpoint.url}`);
    const replayed = await runSmokeTests(endpoint.url, cases, { transportError: endpoint.lastError }).catch((error: unknown) => {
      // A model killed by the first request answers nothing at all: report it with the pods' story.
      if (isUserError(error) && error.kind === "unreachable") return error;
      throw error;
    });
    findings.push(...oomFindings(await podHistories(cluster.kube, target, note), settings, "while serving"));
    if (replayed instanceof UserError) return { rollout, endpoint: endpoint.url, replaySkipped: `the model stopped answering: ${replayed.message}`, findings };
    const replay = judgeReplay(cases, replayed);
    const throttled = throttlingFinding(replay, settings);
    if (throttled) findings.push(throttled);
    return { rollout, endpoint: endpoint.url, replay, findings };
  } finally {
    await endpoint.close();
  }
}

/**
 * kube-proxy applies endpoint changes to its rules at most once per --iptables-min-sync-period,
 * 1 s by default (kubernetes.io, kube-proxy reference), as kind and minikube run it.
 */
const KUBE_PROXY_MIN_SYNC_MS = 1_000;

/**
 * Waits until the Service sends traffic to the new version's pods alone: its old pods leave the
 * endpoints a moment after the new ones are ready, and a replay answered by them would call the
 * old version's answers "same". Returns why the replay is skipped, or undefined to go on.
 */
async function onlyNewVersionRouted(cluster: ReadyCluster, model: ReproducePlan["model"], progress: (line: string) => void): Promise<string | undefined> {
  if (!model.service) return undefined;
  const target = { namespace: model.namespace, deployment: model.name, service: model.service };
  const version = await servingVersion(cluster.kube, target);
  progress(`waiting for Service ${model.service} to route to the new pods only`);
  const routing = await waitForServiceOnPods(
    cluster.kube,
    { namespace: model.namespace, service: model.service, pods: version.pods.map((pod) => pod.pod) },
    { timeoutMs: 30_000 },
  );
  if (!routing.settled) {
    return `Service ${model.namespace}/${model.service} ${describeUnsettled(routing)} 30 s after the rollout, so a replay could not tell which version answered`;
  }
  await new Promise((resolve) => setTimeout(resolve, KUBE_PROXY_MIN_SYNC_MS));
  return undefined;
}

/** What changed for the local cluster and what was kept, one line each. */
function changesText(plan: ReproducePlan, imageKept: boolean): string {
  const kept = [
    ...(imageKept
      ? [`${plan.model.kind} ${plan.model.name}: image ${String(plan.model.container.image)} kept as written (no --model): the node must be able to pull it`]
      : []),
    ...plan.kept,
    "resources, probes, env and command of every container, except what is listed above",
  ];
  const changed = [...plan.notes, ...plan.substitutions.map(describeSubstitution)];
  return `Changed for the local cluster:\n${(changed.length === 0 ? ["nothing"] : changed).map((line) => `  ${line}`).join("\n")}\nKept as in production:\n${kept.map((line) => `  ${line}`).join("\n")}\n\n`;
}

function jsonPlan(plan: ReproducePlan): Record<string, unknown> {
  return {
    notes: plan.notes,
    substitutions: plan.substitutions,
    kept: plan.kept,
    model: { kind: plan.model.kind, name: plan.model.name, namespace: plan.model.namespace },
  };
}

/** Secret values are never printed, not even the ones --include-secrets applies; placeholders are not secret. */
function redactSecret(object: KubeObject): KubeObject {
  if (object.kind !== "Secret") return object;
  const redacted = structuredClone(object);
  for (const field of ["data", "stringData"]) {
    const values = recordAt(redacted, field);
    if (values) redacted[field] = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === PLACEHOLDER_VALUE ? value : "<redacted>"]));
  }
  return redacted;
}
