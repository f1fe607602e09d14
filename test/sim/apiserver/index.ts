/**
 * Entry point of the simulated control plane: an HTTPS Kubernetes API server stand-in on
 * 127.0.0.1, the controllers (Deployment, ReplicaSet, scheduler, endpoints/NodePorts, garbage
 * collector) and one kubelet per node runtime, all in this process. See README.md for what is
 * simulated and how it differs from a real cluster.
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:https";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import type { ControlPlaneOptions, RunningControlPlane } from "../contract.js";
import { bootstrap, isKindNode } from "./bootstrap.js";
import { DeploymentController } from "./controllers/deployment.js";
import { EndpointsController } from "./controllers/endpoints.js";
import { EventRecorder } from "./controllers/events.js";
import { GarbageCollector } from "./controllers/gc.js";
import { ReplicaSetController } from "./controllers/replicaset.js";
import { Scheduler } from "./controllers/scheduler.js";
import type { ControllerContext } from "./controllers/util.js";
import { createHandler } from "./http.js";
import { Kubelet } from "./kubelet/kubelet.js";
import { createExecHandler } from "./exec.js";
import { createPortForwardHandler, type PodDialer } from "./portforward.js";
import { Registry } from "./registry.js";
import { badRequest } from "./status.js";
import { Store } from "./store.js";
import type { Pod } from "./types.js";
import { resolveTiming, type Timing } from "./timing.js";
import { NodeReadiness } from "./controllers/node-readiness.js";
import { createSystemPods } from "./system-pods.js";
import { createUpgradeHandler, refuseUpgrade } from "./upgrade.js";
import { authenticate } from "./authn.js";
import { checkRequest } from "./authz.js";
import { WatchHub } from "./watch.js";
import { KUBE_VERSION } from "./discovery.js";

/** Knobs for tests; the node runtime's background process passes none. */
export interface ControlPlaneTuning {
  /** Overrides of individual delays (see timing.ts); MLKUBE_SIM_FAST_BACKOFF=1 sets fast defaults. */
  timing?: Partial<Timing>;
  /** Watch history kept for resuming watches; older resourceVersions get 410 Gone. */
  watchHistory?: number;
  /** How port-forwards reach a pod's port; default: a TCP connection to the pod IP. */
  dialPod?: PodDialer;
  /**
   * The apiserver's TranslateStreamCloseWebsocketRequests gate (exec over WebSocket v5); default:
   * on, as in the simulated version (beta and on by default since 1.30). Off plays a 1.29 cluster.
   */
  streamCloseWebsocket?: boolean;
  /** The kube-system pods (system-pods.ts), counted by the scheduler; default: on. */
  systemPods?: boolean;
}

export type { ControlPlaneOptions, RunningControlPlane };

export async function startControlPlane(options: ControlPlaneOptions & { tuning?: ControlPlaneTuning }): Promise<RunningControlPlane> {
  await mkdir(options.stateDir, { recursive: true });
  const logStream = createWriteStream(join(options.stateDir, "control-plane.log"), { flags: "a" });
  const log = (line: string): void => {
    if (!logStream.writableEnded) logStream.write(`${new Date().toISOString()} ${line}\n`);
  };
  const timing = resolveTiming(process.env, options.tuning?.timing);
  const store = new Store(options.tuning?.watchHistory ?? 10_000);
  const registry = new Registry(store);
  bootstrap(
    registry,
    options.runtimes.map((r) => r.node),
    options.clusterName,
    timing.nodeReadyAfterMs <= 0,
  );
  const nodes = options.runtimes.map((r) => r.node);
  if (options.tuning?.systemPods !== false) createSystemPods(registry, nodes, nodes.some((node) => isKindNode(node.name)) ? "kind" : "minikube");

  const ctx: ControllerContext = {
    registry,
    store,
    timing,
    log,
    recorder: (component, host) => new EventRecorder(registry, component, host, log),
  };
  const kubelets = options.runtimes.map((runtime) => new Kubelet(ctx, runtime));
  const kubeletOf = (pod: Pod): Kubelet => {
    const kubelet = kubelets.find((k) => k.nodeName === pod.spec.nodeName);
    if (!kubelet) throw badRequest(`pod ${pod.metadata.name ?? ""} does not have a host assigned`);
    return kubelet;
  };
  const endpoints = new EndpointsController(ctx, options.runtimes);
  const controllers = [new ReplicaSetController(ctx), new DeploymentController(ctx), new Scheduler(ctx), new GarbageCollector(ctx), new NodeReadiness(ctx)];
  const watches = new WatchHub(store, { bookmarkIntervalMs: timing.watchBookmarkMs, defaultTimeoutSeconds: timing.watchDefaultTimeoutSeconds });

  const handler = createHandler({
    registry,
    watches,
    log,
    logs: {
      openLogs: (pod, container, previous, logOptions) => kubeletOf(pod).openLogs(pod, container, previous, logOptions),
    },
  });
  // Client certificates are asked for, not required: a request without one is anonymous (authn.ts).
  const server = createServer(
    { cert: options.tls.cert, key: options.tls.key, ca: options.tls.clientCA, requestCert: true, rejectUnauthorized: false },
    handler,
  );
  server.keepAliveTimeout = 60_000;
  const upgrades = createUpgradeHandler({
    portforward: createPortForwardHandler({ registry, log, dial: options.tuning?.dialPod }),
    exec: createExecHandler({
      registry,
      log,
      isRunning: (pod, container) => kubeletOf(pod).isRunning(pod, container),
      exec: (pod, container, command, streams) => kubeletOf(pod).exec(pod, container, command, streams),
      streamClose: options.tuning?.streamCloseWebsocket ?? Number(KUBE_VERSION.minor) >= 30,
    }),
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      checkRequest(registry, authenticate(req), req.method ?? "GET", req.url ?? "/");
    } catch (error) {
      refuseUpgrade(socket, error);
      return;
    }
    upgrades.handle(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

  for (const c of controllers) c.start();
  endpoints.start();
  for (const k of kubelets) k.start();
  const { port } = server.address() as AddressInfo;
  log(`control plane for ${options.clusterName} listening on https://127.0.0.1:${port} with ${options.runtimes.length} node(s)`);

  let closing: Promise<void> | undefined;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () => {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        watches.closeAll();
        upgrades.closeAll();
        server.closeAllConnections();
        for (const c of controllers) c.stop();
        await Promise.allSettled(kubelets.map((k) => k.stop()));
        await endpoints.stop();
        await serverClosed;
        log("control plane stopped");
        await new Promise<void>((resolve) => logStream.end(resolve));
      })();
      return closing;
    },
  };
}
