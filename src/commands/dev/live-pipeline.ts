import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import { ImageBuilder } from "../../adapters/docker/build.js";
import { FileHashCache } from "../../adapters/docker/build-context.js";
import { buildStageProgress } from "./build-progress.js";
import type { Endpoint, ReadyCluster } from "../../adapters/cluster/provider.js";
import { assertNodePortsFree, chooseModelNodePort } from "../../adapters/cluster/model-node-port.js";
import { modelMemory } from "../../adapters/cluster/model-memory.js";
import { applyWithPrune } from "../../adapters/kube/apply.js";
import { nodePortClaims, plannedNodePorts } from "../../adapters/kube/node-port-claims.js";
import { loadSmokeCases } from "../../adapters/probe/cases.js";
import { discoverSmokeTests } from "../../adapters/probe/discover-tests.js";
import { detectHealthEndpoint } from "../../adapters/probe/detect-health.js";
import { forwardLocalPort } from "../../adapters/kube/pod-forward.js";
import { PodConnections } from "../../adapters/kube/pod-connections.js";
import { describeGenerated, noTestsFound } from "../../core/generated-tests.js";
import { describeReadiness } from "../../core/health-endpoints.js";
import { caseFromTest } from "../../core/smoke-cases.js";
import { loadConfig, type ResolvedConfig } from "../../config/load.js";
import { compareRuns } from "../../core/smoke-results.js";
import { combineRuns } from "../../core/verification.js";
import { LiveUnavailable, UserError } from "../../errors.js";
import { addDevLayer } from "../../adapters/docker/dev-layer.js";
import { recordLiveAhead } from "../../adapters/kube/live-annotation.js";
import { servingVersion, type ServingVersion } from "../../adapters/kube/version-pods.js";
import { podAccess } from "../../adapters/live/pod-access.js";
import { readSyncRules } from "../../adapters/live/rules.js";
import { syncToPods } from "../../adapters/live/sync-pods.js";
import type { DeliveredImage, DevAction, DevState } from "../../core/dev/state.js";
import type { DeployTarget } from "../../core/deploy-target.js";
import { buildForCluster, deliverToCluster } from "../../deploy/image.js";
import { ModelUrl, rollOutAndReach } from "../../deploy/rollout.js";
import { targetOf } from "../../deploy/target.js";
import { verifyNewVersion } from "../../deploy/verify.js";
import { planChange } from "../../core/live/plan-change.js";
import { inContext } from "../../core/live/route.js";
import type { SyncRule } from "../../core/live/sync-rules.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import { planManifests } from "../../manifests/plan.js";
import type { Pipeline, StageContext } from "../../engine/runner.js";

/** What the live pipeline needs from the dev session. */
interface LiveSession {
  buildArgs: Readonly<Record<string, string>>;
  cluster: ReadyCluster;
  hashes: FileHashCache;
  /**
   * The dev loop's state, where everything the stages learn is kept: the configuration in force,
   * where apply deployed, the detected readiness endpoint, live update, the last smoke answers.
   */
  state(): DevState;
  /** How the stages record what they learn (the runner records the stage results). */
  dispatch(action: DevAction): void;
  /** Called after each apply, with the model's Deployment and its pod selector (logs follow from then on). */
  onDeployed(target: DeployTarget): void;
}

/**
 * The dev loop's stages against the real world: Docker builds, the cluster's delivery path,
 * server-side apply, the watched rollout and HTTP smoke tests.
 *
 * It keeps no loop state: what one stage learns for another (the built and delivered image, the
 * deploy target, the readiness endpoint, the last answers, the configuration) is dispatched into
 * DevState and read back from it. What it keeps are effect handles bound to this cluster: open
 * connections and answers or writes still in flight, which no state could hold.
 */
export function livePipeline(session: LiveSession): Pipeline & { endpoint(): Endpoint | undefined; anticipateChange(): void } {
  const builder = new ImageBuilder(session.cluster.buildEngine, session.hashes);
  const memory = modelMemory();
  /** The tunnel or port-forward to the model (its URL is in the state). */
  const modelUrl = new ModelUrl(session.cluster);
  /**
   * The pods a sync just updated, and its open connections to them: the test stage right after it
   * tests those pods without listing them again, over the connections their answer checks left open.
   */
  let synced: { version: ServingVersion; connections: PodConnections } | undefined;
  const forgetSynced = async () => {
    const connections = synced?.connections;
    synced = undefined;
    await connections?.closeAll();
  };
  /**
   * The serving pods, asked for when the watcher saw a change coming, so that the question
   * overlaps the watcher's quiet window instead of following it. A sync takes the answer only
   * while it is fresh (ANTICIPATION_MAX_AGE_MS) and about the same target, else asks again.
   */
  let anticipated: { at: number; target: string; version: Promise<ServingVersion> } | undefined;
  const takeAnticipated = (target: DeployTarget): Promise<ServingVersion> | undefined => {
    const taken = anticipated;
    anticipated = undefined;
    const fresh = taken && taken.target === JSON.stringify(target) && performance.now() - taken.at <= ANTICIPATION_MAX_AGE_MS;
    return fresh ? taken.version : undefined;
  };
  /**
   * The live-ahead annotation after a sync is written while the tests run, off the edit's
   * critical path; writes are chained so they land in order. Resolves to why the last one
   * failed, if it did.
   */
  let liveAheadWrite: Promise<string | undefined> = Promise.resolve(undefined);
  const recordAheadInBackground = (target: DeployTarget, files: string[]) => {
    liveAheadWrite = liveAheadWrite.then(() =>
      recordLiveAhead(session.cluster.kube, deploymentOf(target), files).then(
        () => undefined,
        (error: unknown) => `Recording the live files on Deployment ${target.namespace}/${target.deployment} failed: ${(error as Error).message}`,
      ),
    );
  };

  const configInForce = (): ResolvedConfig => {
    const config = session.state().config;
    if (!config) throw new Error("the dev loop's state holds no configuration");
    return config;
  };

  /** Where the last apply put the model; a stage that acts on it cannot run before. */
  const deployTarget = (stage: string): DeployTarget => {
    const target = session.state().deployTarget;
    if (!target) throw new Error(`${stage} ran before apply`);
    return target;
  };

  /** Renders and applies the model's objects with IMAGE, the NodePort and the readiness probe in force; returns the stage detail. */
  const deploy = async (context: StageContext, image: DeliveredImage): Promise<string> => {
    const config = configInForce();
    const kube = session.cluster.kube;
    const onlyNamespace = session.cluster.rights?.listServicesEverywhere === false ? config.namespace : undefined;
    const onCluster = { config, claims: await nodePortClaims(kube, onlyNamespace), mapped: session.cluster.mappedNodePorts };
    // Chosen at each apply: another model may have taken the port meanwhile.
    const chosen = await chooseModelNodePort({ ...onCluster, memory });
    const plan = await planManifests(config, {
      image: image.podImage,
      runAsUser: image.runAsUser,
      nodePort: chosen.port,
      readinessPath: session.state().detectedReadiness?.path,
    });
    assertNodePortsFree(plannedNodePorts(plan.objects, config.namespace), onCluster);
    context.progress(`NodePort ${chosen.port} (${chosen.reason}); applying ${plan.objects.length} object(s)`);
    const result = await applyWithPrune(kube, plan.objects as never, { label: PRUNE_LABEL, model: config.name });
    const target = targetOf(plan.objects, config, chosen.port);
    session.dispatch({ type: "deploy/applied", target });
    session.onDeployed(target);
    const pruned = result.pruned.length > 0 ? `, pruned ${result.pruned.join(", ")}` : "";
    return `${result.applied.length} object(s) applied${pruned}; NodePort ${chosen.port}: ${chosen.reason}`;
  };

  /** Waits for the rollout, then until the model answers from this machine. The previous version serves until then. */
  const rolledOut = async (context: StageContext): Promise<{ ready: number; desired: number }> => {
    const config = configInForce();
    const target = deployTarget("rollout");
    await forgetSynced();
    // An answer asked for while the pods change says nothing of the pods after it.
    anticipated = undefined;
    const outcome = await rollOutAndReach(session.cluster, target, modelUrl, {
      timeoutMs: config.deploy.rolloutTimeoutSeconds * 1000,
      readinessPath: readinessPathInForce(),
      signal: context.signal,
      eventsAllowed: session.cluster.rights?.listEvents !== false,
      onProgress: (progress) =>
        context.progress(`ready ${progress.ready}/${progress.desired}: ${progress.waitingFor}`, { current: progress.ready, total: progress.desired }),
      onReady: async (endpoint, opened, rollout) => {
        if (opened) session.dispatch({ type: "endpoint/changed", url: endpoint.url, via: endpoint.via, reason: endpoint.reason });
        // The new pods run the image as built: nothing of live update's is ahead of it any more.
        await liveAheadWrite;
        if (session.state().live.ahead.length > 0) await recordLiveAhead(session.cluster.kube, deploymentOf(target), []);
        context.progress(`ready ${rollout.ready}/${rollout.desired}; waiting for ${endpoint.url} to answer`);
      },
    });
    anticipated = undefined;
    if (outcome.state === "failed") {
      const detected =
        outcome.kind === "readiness-refused" && config.unwrittenProbePaths?.includes("readiness") ? session.state().detectedReadiness : undefined;
      if (detected) {
        // The server no longer answers the endpoint mlkube found for it: find it again next time.
        session.dispatch({ type: "readiness/detected", readiness: undefined });
        await memory.update(config.dir, { readiness: undefined });
      }
      const answering = outcome.refused ? await answeringHealthPath(outcome.refused, target.namespace, context.signal) : undefined;
      const hint = detected
        ? `mlkube had detected GET ${detected.path} (${detected.protocol}) and now forgets it: the next rollout waits for the port and asks the server again.`
        : answering
          ? `The server answers GET ${answering.path} with 200 (${answering.protocol}): set deploy.probes.readiness.path: ${answering.path} in mlkube.yaml, or remove the path to let mlkube detect it.`
          : outcome.hint;
      throw new UserError("rollout", `${outcome.message} The previous version keeps serving.`, { details: outcome.evidence, hint });
    }
    return outcome.rollout;
  };

  /** The path the Deployment's readiness probe asks: mlkube.yaml's, or the detected one (any answer at "/" shows the port is open). */
  const readinessPathInForce = (): string => knownReadinessPath() ?? "/";

  /** mlkube.yaml's readiness path or the detected one; undefined while zero-config knows none (the probe only checks the port). */
  const knownReadinessPath = (): string | undefined => {
    const config = configInForce();
    return config.unwrittenProbePaths?.includes("readiness") ? session.state().detectedReadiness?.path : config.deploy.probes.readiness.path;
  };

  /** Asks the pod that refused its readiness path which well-known health endpoint it does answer, for the hint. */
  const answeringHealthPath = async (refused: { pod: string; path: string }, namespace: string, signal: AbortSignal) => {
    const config = configInForce();
    const forward = await forwardLocalPort(session.cluster.kube, namespace, async () => ({ pod: refused.pod, port: config.port }));
    try {
      const { found } = await detectHealthEndpoint(forward.url, config.name, signal);
      return found && found.path !== refused.path ? found : undefined;
    } catch {
      return undefined; // only a better hint was at stake
    } finally {
      await forward.close();
    }
  };

  const currentEndpoint = (): Endpoint => {
    const endpoint = modelUrl.current();
    if (!endpoint) throw new Error("no endpoint before the rollout");
    return endpoint;
  };

  return {
    endpoint: () => modelUrl.current(),

    anticipateChange() {
      const state = session.state();
      const target = state.deployTarget;
      if (!target || state.live.off) return;
      const version = servingVersion(session.cluster.kube, target);
      version.catch(() => undefined); // a sync that takes it asks again
      anticipated = { at: performance.now(), target: JSON.stringify(target), version };
    },

    async reloadConfig() {
      // On failure the error is shown and the state keeps the last valid configuration.
      const config = await loadConfig(configInForce().dir, { buildArgs: session.buildArgs });
      session.dispatch({ type: "config/loaded", config });
      session.dispatch({ type: "live/rules", sync: await readSyncRules(config) });
    },

    async build(context) {
      const config = configInForce();
      const progress = buildStageProgress(context);
      const result = await buildForCluster(session.cluster, builder, config, {
        signal: context.signal,
        progress: (line) => context.progress(line),
        onEvent: progress.onEvent,
      });
      const { image: built, prepared: provided } = result;
      const steps = result.cached ? "unchanged: image already built" : `${result.cachedSteps}/${result.totalSteps} steps from cache`;
      // Which builder builds (and why the classic one, where it must), said with the session's first build.
      const note = progress.builderNote();
      const detail = note ? `${steps}; ${note}` : steps;
      // The Dockerfile may have changed: its COPY instructions are the sync rules.
      const sync = await readSyncRules(config);
      session.dispatch({ type: "live/rules", sync });
      if (session.state().live.off) return { reference: result.reference, image: built, cached: result.cached, detail: [...provided, detail].join("; ") };
      // Live update: the dev image wraps the server in the restart supervisor (the user's image is untouched).
      const dev = await addDevLayer(session.cluster.buildEngine.client, built, {
        signal: context.signal,
        writableDirs: writableDestinations(sync.rules),
        restart: config.restart,
        buildkit: await builder.buildkit(),
      });
      return {
        reference: dev.reference,
        image: { repository: built.repository, tag: dev.tag, imageId: dev.imageId },
        cached: result.cached && dev.cached,
        detail: [...provided, detail, "dev layer with the restart supervisor"].join("; "),
      };
    },

    async deliver(context, image) {
      const result = await deliverToCluster(session.cluster, image, {
        signal: context.signal,
        onBytes: (bytes) => context.progress(`${session.cluster.delivery.path}: ${(bytes / 1_000_000).toFixed(1)} MB moved`),
      });
      return {
        path: result.path,
        podImage: result.podImage,
        runAsUser: result.runAsUser,
        detail: `${result.detail}, ${(result.bytesMoved / 1_000_000).toFixed(1)} MB moved`,
      };
    },

    async apply(context, image) {
      if (!session.state().detectedReadiness) {
        const remembered = (await memory.read())[configInForce().dir]?.readiness;
        if (remembered) session.dispatch({ type: "readiness/detected", readiness: remembered });
      }
      return { detail: await deploy(context, image) };
    },

    async rollout(context, image) {
      const config = configInForce();
      const outcome = await rolledOut(context);
      let fitted = "";
      if (config.unwrittenProbePaths?.includes("readiness")) {
        const known = session.state().detectedReadiness;
        if (known) {
          fitted = `; ${describeReadiness(known, [])}`;
        } else {
          // The port is open: ask the server how it says it is ready, and write that into the Deployment.
          const detected = await detectHealthEndpoint(currentEndpoint().url, config.name, context.signal);
          fitted = `; ${describeReadiness(detected.found, detected.tried)}`;
          context.progress(fitted.slice(2));
          if (detected.found) {
            session.dispatch({ type: "readiness/detected", readiness: detected.found });
            await memory.update(config.dir, { readiness: detected.found });
            await deploy(context, image);
            await rolledOut(context);
          }
        }
      }
      return { detail: `ready ${outcome.ready}/${outcome.desired}, answering at ${currentEndpoint().url}${fitted}` };
    },

    async sync(context, paths) {
      const state = session.state();
      const target = state.deployTarget;
      if (!target) throw new LiveUnavailable("nothing is deployed yet to update");
      const config = configInForce();
      const live = state.live;
      const contextDir = config.build.context;
      const changes = inContext(paths, live.sync, (path) => (existsSync(join(config.dir, path)) ? "changed" : "deleted"));
      const plan = planChange({ changes, rules: live.sync.rules, dockerfile: live.sync.dockerfile });
      if (plan.kind === "rebuild") throw new LiveUnavailable(plan.reason);
      const kube = session.cluster.kube;
      const version = (await takeAnticipated(target)?.catch(() => undefined)) ?? (await servingVersion(kube, target));
      const what = paths.length === 1 ? paths[0] : `${paths.length} files`;
      context.progress(`${what} to ${countPods(version.pods.length)}`);
      await forgetSynced();
      const connections = new PodConnections(kube, target.namespace);
      const access = podAccess(kube, {
        namespace: target.namespace,
        readinessPath: knownReadinessPath(),
        answerTimeoutMs: config.deploy.rolloutTimeoutSeconds * 1000,
        connections,
        signal: context.signal,
      });
      const copies = plan.copies.map((copy) => ({ local: join(contextDir, copy.local), remote: copy.remote }));
      const { restarts } = await syncToPods(version.pods, { copies, deletes: plan.deletes }, access, { restart: config.restart }).catch(
        async (error: unknown) => {
          await connections.closeAll();
          throw error;
        },
      );
      synced = { version, connections };
      const files = [...paths];
      recordAheadInBackground(target, [...new Set([...live.ahead, ...files])].sort());
      return { files, pods: version.runs, detail: `${what} to ${countPods(version.pods.length)}, ${restarts[0] ?? "restarted"}` };
    },

    async test(context) {
      const after = synced;
      synced = undefined;
      try {
        return await testVersion(context, after);
      } finally {
        await after?.connections.closeAll();
      }
    },
  };

  /** The test stage: the smoke tests on the new version (after a sync, its pods over the sync's connections). */
  async function testVersion(context: StageContext, after: typeof synced) {
    const target = session.state().deployTarget;
    const endpoint = modelUrl.current();
    if (!endpoint || !target)
      throw new UserError("rollout", "No endpoint to test: the model was never rolled out.", {
        hint: "Fix the earlier failure; tests run after the first successful rollout.",
      });
    const config = configInForce();
    let cases = await loadSmokeCases(config);
    let detail: string | undefined;
    if (cases.length === 0) {
      // No tests in mlkube.yaml: the ones the server's own description gives (issue #16.3).
      context.progress("no tests in mlkube.yaml: asking the server to describe itself");
      const found = await discoverSmokeTests(endpoint.url, config.name, context.signal);
      cases = found.tests.map((test) => caseFromTest(test.test));
      detail = found.tests.length > 0 ? describeGenerated(found.tests) : `no smoke tests configured, and the server describes none (${noTestsFound(found)})`;
    }
    const runs = await verifyNewVersion(session.cluster.kube, { ...target, url: endpoint.url, urlError: endpoint.lastError }, cases, {
      signal: context.signal,
      progress: (detail) => context.progress(detail),
      version: after?.version,
      connections: after?.connections,
    });
    // Changes since the last iteration compare answers of one new pod each time: attributable.
    const results = [...(runs[0]?.results ?? [])];
    const previous = session.state().smokeResults;
    const changes = previous ? compareRuns(previous, results).map((change) => `${change.test}: ${change.message}`) : [];
    const aheadFailure = await liveAheadWrite;
    liveAheadWrite = Promise.resolve(undefined);
    if (aheadFailure)
      throw new UserError("sync", `${aheadFailure}: 'mlkube status' cannot say which files the pods run ahead of the image.`, {
        hint: "Check your rights to patch Deployments; press r to rebuild so the pods run the image again.",
      });
    return { tests: combineRuns(runs), changes, results, detail };
  }
}

/** The Deployment a target names, as the rollout wait and the live-ahead annotation take it. */
function deploymentOf(target: DeployTarget): { namespace: string; name: string } {
  return { namespace: target.namespace, name: target.deployment };
}

/** How old an anticipated answer about the serving pods may be when a sync uses it: about a quiet window and a few file hashes. */
const ANTICIPATION_MAX_AGE_MS = 1_000;

function countPods(count: number): string {
  return count === 1 ? "1 pod" : `${count} pods`;
}

/**
 * Directories live update writes into: each rule's destination directory (or a file's folder).
 * The image's user must be able to create and replace files there, as `tar -x` does.
 */
function writableDestinations(rules: readonly SyncRule[]): string[] {
  return [...new Set(rules.map((rule) => (rule.dest.endsWith("/") ? rule.dest.replace(/\/+$/, "") || "/" : posix.dirname(rule.dest))))].sort();
}
