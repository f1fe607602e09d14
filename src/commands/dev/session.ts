import { relative } from "node:path";
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

  let quitRequests = 0;
  let requestQuit!: () => void;
  const quitRequested = new Promise<void>((resolve) => (requestQuit = resolve));
  const onQuit = () => {
    quitRequests++;
    if (quitRequests > 1) {
      // A second Ctrl-C: the user wants out now. Ink's unmount already restored the terminal.
      process.stderr.write("\nmlkube dev: forced exit\n");
      process.exit(130);
    }
    store.dispatch({ type: "quit" });
    requestQuit();
  };
  process.on("SIGINT", onQuit);
  process.on("SIGTERM", onQuit);

  const interactive = options.tui !== false && !options.json && !options.once && process.stdout.isTTY === true && process.stdin.isTTY === true && !process.env.CI;
  const stopView = interactive
    ? stopUi(renderDevUi({ store, logs, holdReason, onQuit }))
    : stopPrinter(startPlainPrinter({ store, logs, holdReason, out: process.stdout, format: options.json ? "json" : "text" }));

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
    // A registry that cannot start must not stop the loop: load images for this session (the delivery reason says why).
    cluster = await provider.ensure((step) => store.dispatch({ type: "cluster/progress", detail: `${step.title}${step.detail ? `: ${step.detail}` : ""}` }), { withoutRegistry: "load" });
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
  process.off("SIGINT", onQuit);
  process.off("SIGTERM", onQuit);
  if (!options.json) process.stdout.write(`${summaryLine(state, options.cleanup === true)}\n`);
  if (options.once) return state.history.at(-1)?.result === "success" ? 0 : 1;
  return 0;
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

function summaryLine(state: DevState, cleanedUp: boolean): string {
  const runs = state.history;
  const ok = runs.filter((run) => run.result === "success").length;
  const failed = runs.filter((run) => run.result === "failed").length;
  const last = runs.at(-1);
  const parts = [`mlkube dev: ${runs.length} iteration(s), ${ok} ok, ${failed} failed`];
  if (last) parts.push(`last edit-to-verified ${(last.totalMs / 1000).toFixed(1)} s`);
  if (state.problem) parts.push(`last problem: ${state.problem.message}`);
  if (state.serving && !cleanedUp) parts.push(`${state.model.name} keeps running${state.cluster.info?.endpoint ? ` at ${state.cluster.info.endpoint}` : ""} ('mlkube down' removes the cluster)`);
  if (cleanedUp) parts.push("the model's objects were deleted (--cleanup)");
  return parts.join("; ");
}
