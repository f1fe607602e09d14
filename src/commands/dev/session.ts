import { relative } from "node:path";
import { createdClusters } from "../../adapters/cluster/created-clusters.js";
import type { ReadyCluster } from "../../adapters/cluster/provider.js";
import { selectProvider, type ClusterFlags } from "../../adapters/cluster/select.js";
import { FileHashCache } from "../../adapters/docker/build-context.js";
import { connectDocker, ensureDockerReachable } from "../../adapters/docker/client.js";
import { deleteModelObjects } from "../../adapters/kube/apply.js";
import { followLogs, type LogFollower } from "../../adapters/kube/logs.js";
import { watchModel, type ModelWatcher } from "../../adapters/watch/watcher.js";
import { CONFIG_FILE_NAMES, loadConfig, parseBuildArgs } from "../../config/load.js";
import { nextStep } from "../../core/dev/planner.js";
import { initialState, reduce, type DevAction, type DevState } from "../../core/dev/state.js";
import { LogStore } from "../../engine/log-store.js";
import { problemFrom, startRunner, type RunnerHandle } from "../../engine/runner.js";
import { Store } from "../../engine/store.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import { renderDevUi } from "../../ui/dev/render.js";
import { startPlainPrinter } from "../../ui/dev/plain.js";
import { exitStatus, runningIteration, summaryLine, type EndRequest, type RunningIteration } from "../../ui/dev/summary.js";
import { livePipeline, type LiveSession } from "./live-pipeline.js";

export interface DevOptions extends ClusterFlags {
  buildArg: string[];
  tui?: boolean;
  json?: boolean;
  once?: boolean;
  cleanup?: boolean;
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

  const store = new Store<DevState, DevAction>(initialState({ name: config.name, dir: config.dir }), reduce);
  const logs = new LogStore();
  const holdReason = () => {
    const step = nextStep(store.getState(), PLANNER);
    return step.kind === "hold" ? step.reason : undefined;
  };

  /** The first request to end the session, and the iteration it interrupted. */
  let ending: { request: EndRequest; interrupted: RunningIteration | undefined } | undefined;
  let requestQuit!: () => void;
  const quitRequested = new Promise<void>((resolve) => (requestQuit = resolve));
  const onQuit = (request: EndRequest) => {
    if (ending) return forceExit(ending, request);
    ending = { request, interrupted: runningIteration(store.getState()) };
    store.dispatch({ type: "quit" });
    requestQuit();
  };
  const onSigint = () => onQuit("SIGINT");
  const onSigterm = () => onQuit("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);

  const interactive = options.tui !== false && !options.json && !options.once && process.stdout.isTTY === true && process.stdin.isTTY === true && !process.env.CI;
  const stopView = once(
    interactive
      ? stopUi(renderDevUi({ store, logs, holdReason, onQuit: (request) => onQuit(request === "quit" ? "q" : "ctrl-c") }))
      : stopPrinter(startPlainPrinter({ store, logs, holdReason, out: process.stdout, format: options.json ? "json" : "text" })),
  );

  /**
   * A second request while shutting down: the user wants out now. The running step is aborted
   * (a build's stream closes, and the engine stops the build), the view restores the terminal
   * (raw mode off, cursor shown) before anything is printed, and child processes end with this
   * one (execa kills them on exit).
   */
  const forceExit = (first: NonNullable<typeof ending>, second: EndRequest): never => {
    void runner?.stop();
    stopView();
    const state = store.getState();
    if (!options.json) process.stdout.write(`${summaryLine(state, { ...first, forced: true, cleanedUp: false })}\n`);
    process.stderr.write(`mlkube dev: forced exit before the shutdown finished${options.cleanup ? "; --cleanup did not run" : ""}\n`);
    process.exit(exitStatus(first.request) || exitStatus(second) || 130);
  };

  const hashes = new FileHashCache();
  let runner: RunnerHandle | undefined;
  let watcher: ModelWatcher | undefined;
  let logFollower: LogFollower | undefined;
  let cluster: ReadyCluster | undefined;
  let pipeline: ReturnType<typeof livePipeline> | undefined;
  /** The configuration in force: reloaded by the pipeline when mlkube.yaml changes and is valid. */
  let currentConfig = config;

  const started = (async () => {
    const provider = await selectProvider(config, options, { docker });
    store.dispatch({ type: "cluster/progress", detail: `${provider.choice.kind} '${provider.choice.clusterName}': ${provider.choice.reason}` });
    cluster = await provider.ensure((step) => store.dispatch({ type: "cluster/progress", detail: `${step.title}${step.detail ? `: ${step.detail}` : ""}` }));
    if (cluster.created) await createdClusters().add(provider.choice.kind, provider.choice.clusterName);
    let followedSelector: string | undefined;
    const live: LiveSession = {
      config,
      buildArgs,
      hashes,
      cluster,
      onDeployed: (target) => {
        if (followedSelector === target.selector || !cluster) return;
        followedSelector = target.selector;
        logFollower?.stop();
        logFollower = followLogs(cluster.kube, target, (line) => logs.append(line), {
          follow: true,
          tailLines: 20,
          onNotice: (notice) => logs.appendNotice(notice),
        });
      },
      onEndpoint: (url) => store.dispatch({ type: "endpoint/changed", url }),
      onConfig: (next) => (currentConfig = next),
    };
    pipeline = livePipeline(live);
    store.dispatch({
      type: "cluster/ready",
      info: { provider: provider.choice.kind, name: provider.choice.clusterName, context: provider.choice.context, deliveryPath: cluster.delivery.path, deliveryReason: cluster.delivery.reason },
    });
    runner = startRunner(store, pipeline, PLANNER);
    if (!options.once) {
      watcher = watchModel({
        dir: config.dir,
        contextDir: config.build.context,
        configFiles: [...CONFIG_FILE_NAMES],
        manifestPaths: config.manifests.map((path) => relative(config.dir, path)),
        ignore: config.watch.ignore,
        debounceMs: config.watch.debounceMs,
        hashes,
        onBatch: (changes, at) => store.dispatch({ type: "files/changed", changes, at }),
        onError: (error) => store.dispatch({ type: "cluster/progress", detail: `file watching: ${(error as Error).message}` }),
      });
    }
  })().catch((error: unknown) => {
    store.dispatch({ type: "cluster/failed", problem: { ...problemFrom("build", error), stage: "cluster" } });
    if (options.once) requestQuit();
  });

  const onceFinished = options.once ? firstIterationFinished(store) : new Promise<never>(() => undefined);
  await Promise.race([quitRequested, onceFinished]);

  // Shutdown: stop reacting first, then end what runs, then the view.
  await started;
  await watcher?.close();
  await runner?.stop();
  logFollower?.stop();
  await pipeline?.endpoint()?.close();
  if (options.cleanup && cluster) {
    const deleted = await deleteModelObjects(cluster.kube, currentConfig.namespace, { label: PRUNE_LABEL, model: currentConfig.name });
    logs.appendNotice({ pod: "mlkube", message: `cleanup: deleted ${deleted.join(", ") || "nothing"}` });
  }
  const state = store.getState();
  stopView();
  process.off("SIGINT", onSigint);
  process.off("SIGTERM", onSigterm);
  const end = { request: ending?.request ?? "q", interrupted: ending?.interrupted, forced: false, cleanedUp: options.cleanup === true } as const;
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
