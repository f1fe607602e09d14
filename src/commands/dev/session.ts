import { VersionApi } from "@kubernetes/client-node";
import { relative } from "node:path";
import type { ReadyCluster } from "../../adapters/cluster/provider.js";
import { selectProvider, type ClusterFlags } from "../../adapters/cluster/select.js";
import { FileHashCache } from "../../adapters/docker/build-context.js";
import { connectDocker, ensureDockerReachable } from "../../adapters/docker/client.js";
import { pruneEngineImages } from "../../adapters/docker/prune-images.js";
import { collectableRegistryOn } from "../../adapters/cluster/local-registry.js";
import { RegistryPruner } from "../../adapters/registry/prune-registry.js";
import { deleteModelObjects } from "../../adapters/kube/apply.js";
import { followLogs, type LogFollower } from "../../adapters/kube/logs.js";
import { watchModel, type ModelWatcher } from "../../adapters/watch/watcher.js";
import { CONFIG_FILE_NAMES, loadConfig, parseBuildArgs, type ResolvedConfig } from "../../config/load.js";
import { nextStep } from "../../core/dev/planner.js";
import { initialState, reduce, type DevAction, type DevState } from "../../core/dev/state.js";
import { bringUpCluster } from "../../engine/cluster-lifecycle.js";
import { startHealthMonitor } from "../../engine/health-monitor.js";
import { diagnosticsInterval, startDiagnostics } from "../../engine/diagnostics.js";
import { startImagePruner } from "../../engine/image-pruner.js";
import { startLiveMonitor } from "../../engine/live-monitor.js";
import { keepWatching, type WatcherStart } from "../../engine/watch-lifecycle.js";
import { servingVersion } from "../../adapters/kube/version-pods.js";
import { wantsInteractiveUi } from "./interactive.js";
import { readSyncRules } from "../../adapters/live/rules.js";
import type { PodRun } from "../../core/live/drift.js";
import { LogStore } from "../../engine/log-store.js";
import { startRunner, type RunnerHandle } from "../../engine/runner.js";
import { Store } from "../../engine/store.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import { renderDevUi } from "../../ui/dev/render.js";
import { startPlainPrinter } from "../../ui/dev/plain.js";
import { historyRowText } from "../../ui/dev/history.js";
import { exitStatus, runningIteration, summaryLine, type EndRequest, type RunningIteration } from "../../ui/dev/summary.js";
import { livePipeline } from "./live-pipeline.js";
import { kindOffer } from "../kind-offer.js";
import { checkRights } from "../../adapters/kube/rights.js";

interface DevOptions extends ClusterFlags {
  buildArg: string[];
  tui?: boolean;
  json?: boolean;
  once?: boolean;
  cleanup?: boolean;
  /** Re-create a deleted cluster without asking. */
  yes?: boolean;
  /** False with --no-live: every change rebuilds the image, none is synced into the running container. */
  live?: boolean;
}

const PLANNER = { abortBuildOnChange: true };

/**
 * `mlkube dev`: one session of the loop. The store holds the state, the runner the effects, the
 * UI (or a printer without a terminal) only reads. On quit everything started here is stopped:
 * watcher, log streams, tunnels, child processes; the deployment keeps running unless --cleanup.
 */
export async function runDevCommand(dir: string, options: DevOptions): Promise<number> {
  const buildArgs = parseBuildArgs(options.buildArg);
  const config = await loadConfig(dir, { buildArgs });
  const docker = connectDocker();
  await ensureDockerReachable(docker);

  // Chosen before the UI starts: a missing kind is offered as a plain terminal question (or
  // installed with --yes), and without either it is an error now rather than a retry loop.
  const provider = await selectProvider(config, options, { docker, offerKind: kindOffer("dev", options.yes === true) });

  const interactive = wantsInteractiveUi(options, { stdout: process.stdout.isTTY === true, stdin: process.stdin.isTTY === true }, process.env);
  const recreate = options.yes ? "auto" : interactive ? "offer" : "explain";
  // --once runs a single iteration: nothing would ever be synced, so its image is the user's as built.
  const liveOff = options.live === false ? "--no-live" : options.once ? "--once" : config.sync.mode === "off" ? "sync: false in mlkube.yaml" : undefined;
  const store = new Store<DevState, DevAction>(initialState({ name: config.name, dir: config.dir }, recreate, liveOff), reduce);
  store.dispatch({ type: "config/loaded", config });
  // The first change may already be a sync: the rules are there before the first build ends.
  await readSyncRules(config).then(
    (sync) => store.dispatch({ type: "live/rules", sync }),
    () => undefined, // an unreadable Dockerfile is the first build's error to report
  );
  const logs = new LogStore();
  const holdReason = () => {
    const step = nextStep(store.getState(), PLANNER);
    return step.kind === "hold" ? step.reason : undefined;
  };

  /** Ends the cluster start-up's retries on quit. */
  const quitting = new AbortController();
  /** The first request to end the session, and the iteration it interrupted. */
  let ending: { request: EndRequest; interrupted: RunningIteration | undefined } | undefined;
  let requestQuit!: () => void;
  const quitRequested = new Promise<void>((resolve) => (requestQuit = resolve));
  const onQuit = (request: EndRequest) => {
    if (ending) return forceExit(ending, request);
    ending = { request, interrupted: runningIteration(store.getState()) };
    store.dispatch({ type: "quit" });
    quitting.abort();
    requestQuit();
  };
  const onSigint = () => onQuit("SIGINT");
  const onSigterm = () => onQuit("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);

  const printer = interactive ? undefined : startPlainPrinter({ store, logs, holdReason, out: process.stdout, format: options.json ? "json" : "text" });
  const stopView = once(
    printer ? stopPrinter(printer) : stopUi(renderDevUi({ store, logs, holdReason, onQuit: (request) => onQuit(request === "quit" ? "q" : "ctrl-c") })),
  );
  // The diagnostics event goes to the printed stream; the interactive UI has no place for it.
  const diagnosticsMs = diagnosticsInterval(process.env);
  const diagnostics =
    printer && diagnosticsMs
      ? startDiagnostics(diagnosticsMs, [process, process.stdout, process.stderr, store, logs], (sample) => printer.emit({ type: "diagnostics", ...sample }))
      : undefined;

  /**
   * A second request while shutting down: the user wants out now. The running step is aborted
   * (a build's stream closes, and the engine stops the build), the view restores the terminal
   * (raw mode off, cursor shown) before anything is printed, and child processes end with this
   * one (execa kills them on exit).
   */
  const forceExit = (first: NonNullable<typeof ending>, second: EndRequest): never => {
    void live?.stop();
    stopView();
    const state = store.getState();
    if (!options.json) process.stdout.write(`${summaryLine(state, { ...first, forced: true, cleanedUp: false })}\n`);
    process.stderr.write(`mlkube dev: forced exit before the shutdown finished${options.cleanup ? "; --cleanup did not run" : ""}\n`);
    process.exit(exitStatus(first.request) || exitStatus(second) || 130);
  };

  const hashes = new FileHashCache();
  let live: LiveCluster | undefined;
  /** The configuration in force: the pipeline reloads it into the state when mlkube.yaml changes and is valid. */
  const currentConfig = (): ResolvedConfig => store.getState().config ?? config;

  const connect = async (): Promise<void> => {
    store.dispatch({ type: "cluster/progress", detail: `${provider.choice.kind} '${provider.choice.clusterName}': ${provider.choice.reason}` });
    // A registry that cannot start must not stop the loop: load images for this session (the delivery reason says why).
    const ensured = await provider.ensure(
      (step) => store.dispatch({ type: "cluster/progress", detail: `${step.title}${step.detail ? `: ${step.detail}` : ""}` }),
      { withoutRegistry: "load" },
    );
    const cluster =
      provider.choice.kind === "context"
        ? await withRights(ensured, currentConfig().namespace, (note) => {
            store.dispatch({ type: "cluster/progress", detail: note });
            logs.appendNotice({ pod: "mlkube", message: note });
          })
        : ensured;
    live = startLiveCluster(cluster, { store, logs, hashes, buildArgs });
    store.dispatch({
      type: "cluster/ready",
      info: {
        provider: provider.choice.kind,
        name: provider.choice.clusterName,
        context: provider.choice.context,
        deliveryPath: cluster.delivery.path,
        deliveryReason: cluster.delivery.reason,
      },
    });
  };

  const health = startHealthMonitor(
    {
      pingEngine: () => docker.client.ping(),
      pingCluster: () => live?.pingApiServer() ?? Promise.resolve(),
      clusterExists: async () => (await provider.status()).exists,
    },
    (action) => store.dispatch(action),
  );

  /** Old images of this model go after each verified iteration, from the engine that built them and the local registry. */
  const registryPruners = new WeakMap<ReadyCluster, Promise<RegistryPruner | undefined>>();
  const pruner = startImagePruner(store, {
    prune: async (scope) => {
      if (!live) return { removed: [], reclaimedBytes: 0 };
      const result = await pruneEngineImages(live.cluster.buildEngine.client, scope, currentConfig().image.repository);
      return { removed: result.removedImages, reclaimedBytes: result.reclaimedBytes };
    },
    pruneRegistry: async (scope) => {
      if (!live) return { removed: [], reclaimedBytes: 0 };
      const cluster = live.cluster;
      if (!registryPruners.has(cluster)) registryPruners.set(cluster, localRegistryPruner(cluster));
      const registry = await registryPruners.get(cluster);
      return registry ? registry.prune(scope) : { removed: [], reclaimedBytes: 0 };
    },
    runningImages: async () => (live ? runningImages(live.cluster.kube, live.cluster.rights, currentConfig().namespace) : undefined),
  });

  /** Pods that restart or are replaced lose the synced files: the loop rebuilds (issue #11, no silent drift). */
  const driftMonitor = startLiveMonitor(store, async () => (live ? live.podRuns() : undefined));

  /** A stage that lost its connection is a hint: look at the engine and the cluster now, not in 2 s. */
  let lastProblem = store.getState().problem;
  const unsubscribeLostConnection = store.subscribe((state) => {
    if (state.problem !== lastProblem && state.problem?.lostConnection) health.checkNow();
    lastProblem = state.problem;
  });

  /** A deleted cluster is re-created when the user said so (--yes, or the `y` key). */
  let recreating: Promise<void> | undefined;
  const unsubscribeRecreate = store.subscribe((state) => {
    if (recreating || state.quitting || state.health.cluster.status !== "deleted" || state.health.recreate !== "auto") return;
    recreating = (async () => {
      store.dispatch({ type: "cluster/recreating" });
      await live?.stop();
      live = undefined;
      // Retried like the first start: a re-creation that fails once must not leave the loop held for good.
      await bringUpCluster(connect, (action) => store.dispatch(action), { signal: quitting.signal, retry: true });
    })().finally(() => (recreating = undefined));
  });

  /** The model directory, watched until the session ends (engine/watch-lifecycle.ts: failures, polling, restarts). */
  const startWatching = (watch: WatcherStart): ModelWatcher =>
    watchModel({
      dir: config.dir,
      contextDir: config.build.context,
      dockerfile: config.build.dockerfile,
      configFiles: [...CONFIG_FILE_NAMES],
      manifestPaths: config.manifests.map((path) => relative(config.dir, path)),
      ignore: config.watch.ignore,
      debounceMs: config.watch.debounceMs,
      hashes,
      usePolling: watch.usePolling,
      resumeFrom: watch.resumeFrom,
      onBatch: (changes, at) => store.dispatch({ type: "files/changed", changes, at }),
      onBatchStarted: () => live?.anticipateChange(),
      onError: watch.onError,
    });
  let watching: Promise<void> | undefined;

  const started = (async () => {
    // --once reports the first failure instead of retrying.
    const up = await bringUpCluster(connect, (action) => store.dispatch(action), { signal: quitting.signal, retry: !options.once });
    if (!up && options.once) requestQuit();
    if (up && !options.once) watching = keepWatching(startWatching, (action) => store.dispatch(action), { signal: quitting.signal });
  })();

  const onceFinished = options.once ? firstIterationFinished(store) : new Promise<never>(() => undefined);
  await Promise.race([quitRequested, onceFinished]);

  // Shutdown: stop reacting first, then end what runs, then the view.
  await started;
  health.stop();
  driftMonitor.stop();
  pruner.stop();
  await pruner.idle();
  unsubscribeLostConnection();
  unsubscribeRecreate();
  await recreating;
  quitting.abort(); // --once ends without a quit request
  await watching;
  await live?.stop();
  if (options.cleanup && live) {
    const deleted = await deleteModelObjects(live.cluster.kube, currentConfig().namespace, { label: PRUNE_LABEL, model: currentConfig().name });
    logs.appendNotice({ pod: "mlkube", message: `cleanup: deleted ${deleted.join(", ") || "nothing"}` });
  }
  const state = store.getState();
  diagnostics?.stop();
  stopView();
  process.off("SIGINT", onSigint);
  process.off("SIGTERM", onSigterm);
  const end = { request: ending?.request ?? "q", interrupted: ending?.interrupted, forced: false, cleanedUp: options.cleanup === true } as const;
  // The session's record (the live view showed only its latest rows), then the summary.
  if (interactive) process.stdout.write(state.history.map((entry) => `${historyRowText(entry)}\n`).join(""));
  if (!options.json) process.stdout.write(`${summaryLine(state, end)}\n`);
  if (ending) return exitStatus(ending.request);
  if (options.once) return state.history.at(-1)?.result === "success" ? 0 : 1;
  return 0;
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (!done) action();
    done = true;
  };
}

function stopUi(ui: { unmount(): void }): () => void {
  return () => ui.unmount();
}

function stopPrinter(printer: { stop(): void }): () => void {
  return () => printer.stop();
}

function firstIterationFinished(store: Store<DevState, DevAction>): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = store.subscribe((state) => {
      if (state.history.length > 0) {
        unsubscribe();
        resolve();
      }
    });
  });
}
/** What runs against one cluster: its pipeline and runner, and the log follower. Replaced when the cluster is re-created. */
interface LiveCluster {
  cluster: ReadyCluster;
  /** GET /version on this cluster's API server, for the health monitor. */
  pingApiServer(): Promise<unknown>;
  /** A change is coming (the watcher saw its first file): a live sync's first question can start now. */
  anticipateChange(): void;
  /** The model's current pods and their restarts, once it is deployed. */
  podRuns(): Promise<PodRun[] | undefined>;
  stop(): Promise<void>;
}

/**
 * Pruning for the registry images are pushed to, when it runs on this machine (localhost:PORT). A
 * registry elsewhere may be shared with others, who may still pull an old tag: never pruned.
 */
async function localRegistryPruner(cluster: ReadyCluster): Promise<RegistryPruner | undefined> {
  if (cluster.delivery.path !== "registry") return undefined;
  const local = /^(?:localhost|127\.0\.0\.1):(\d+)$/.exec(cluster.delivery.pushTo);
  if (!local) return undefined;
  const docker = cluster.buildEngine.client;
  const container = await collectableRegistryOn(docker, Number(local[1])).catch(() => undefined);
  return new RegistryPruner(docker, { host: cluster.delivery.pushTo, pullAs: cluster.delivery.pullAs, container });
}

/** A shared cluster's rights, checked once: each one the user lacks is said in one line (kube/rights.ts). */
async function withRights(cluster: ReadyCluster, namespace: string, say: (note: string) => void): Promise<ReadyCluster> {
  const { rights, notes } = await checkRights(cluster.kube, namespace);
  for (const note of notes) say(note);
  return { ...cluster, rights };
}

/** What every pod on the cluster runs (or, without the right to list them all, the namespace's): images the pruner must keep. */
async function runningImages(kube: ReadyCluster["kube"], rights: ReadyCluster["rights"], namespace: string): Promise<string[]> {
  const pods =
    rights?.listPodsEverywhere === false ? (await kube.core.listNamespacedPod({ namespace })).items : (await kube.core.listPodForAllNamespaces()).items;
  return pods
    .flatMap((pod) => [
      ...(pod.spec?.containers ?? []).map((container) => container.image),
      ...(pod.status?.containerStatuses ?? []).flatMap((status) => [status.image, status.imageID.replace(/^docker(-pullable)?:\/\//, "")]),
    ])
    .filter((image): image is string => Boolean(image));
}

function startLiveCluster(
  cluster: ReadyCluster,
  session: { store: Store<DevState, DevAction>; logs: LogStore; hashes: FileHashCache; buildArgs: Readonly<Record<string, string>> },
): LiveCluster {
  const { store, logs } = session;
  let logFollower: LogFollower | undefined;
  let followedSelector: string | undefined;
  const pipeline = livePipeline({
    buildArgs: session.buildArgs,
    hashes: session.hashes,
    cluster,
    state: () => store.getState(),
    dispatch: (action) => store.dispatch(action),
    onDeployed: (target) => {
      if (followedSelector === target.selector) return;
      followedSelector = target.selector;
      logFollower?.stop();
      logFollower = followLogs(cluster.kube, target, (line) => logs.append(line), {
        follow: true,
        tailLines: 20,
        onNotice: (notice) => logs.appendNotice(notice),
      });
    },
  });
  const runner: RunnerHandle = startRunner(store, pipeline, PLANNER);
  const version = cluster.kube.config.makeApiClient(VersionApi);
  return {
    cluster,
    pingApiServer: () => version.getCode(),
    anticipateChange: () => pipeline.anticipateChange(),
    podRuns: async () => {
      const target = store.getState().deployTarget;
      return target ? (await servingVersion(cluster.kube, { namespace: target.namespace, deployment: target.deployment, service: undefined })).runs : undefined;
    },
    stop: async () => {
      await runner.stop();
      logFollower?.stop();
      await pipeline.endpoint()?.close();
    },
  };
}
