import type Dockerode from "dockerode";
import { createServer } from "node:net";
import type { DoctorCheck } from "../../core/doctor.js";
import { KIND_CLUSTER_LABEL } from "../cluster/node-ports.js";

interface PortNeed {
  port: number;
  /** What mlkube uses it for, for the message: "the registry", "NodePort 30080". */
  purpose: string;
  /** The container that may hold it (mlkube's own registry, a kind node): then all is well. */
  ownedBy(container: Dockerode.ContainerInfo): boolean;
  /** Another way out than stopping what holds it, if there is one. */
  alternative?: string | undefined;
  /** The fix when this container holds it, where stopping the container is not the way. */
  fixFor?: ((container: Dockerode.ContainerInfo) => string | undefined) | undefined;
}

export function registryPort(container: string, port: number): PortNeed {
  return { port, purpose: "the local registry", ownedBy: (info) => info.Names.includes(`/${container}`) };
}

/**
 * A NodePort the model's kind cluster maps to 127.0.0.1. Held by that cluster's node, all is well;
 * held by another kind cluster's node, a new cluster cannot be created (kind maps the same ports).
 */
export function nodePortNeed(port: number, kindCluster?: string): PortNeed {
  const clusterOf = (info: Dockerode.ContainerInfo) => info.Labels?.[KIND_CLUSTER_LABEL];
  return {
    port,
    purpose: `NodePort ${port}, the model's URL`,
    ownedBy: (info) => clusterOf(info) !== undefined && (kindCluster === undefined || clusterOf(info) === kindCluster),
    alternative: "or set service.nodePort in mlkube.yaml to a free port in 30000-32767",
    fixFor: (info) => {
      const other = clusterOf(info);
      return other === undefined
        ? undefined
        : `use kind cluster '${other}' (cluster.name: ${other} in mlkube.yaml), or delete it: kind delete cluster --name ${other}`;
    },
  };
}

/**
 * Whether 127.0.0.1:PORT is free for mlkube, or held by what mlkube put there. Docker publishes
 * ports through its own proxy process, so the containers are asked first; then a trial listen.
 * `containers` is undefined when the engine does not answer.
 */
export async function checkPort(need: PortNeed, containers: Dockerode.ContainerInfo[] | undefined, platform: NodeJS.Platform): Promise<DoctorCheck> {
  const name = `port ${need.port}`;
  const holder = containers?.find((container) => container.Ports.some((port) => port.PublicPort === need.port));
  const holderName = holder?.Names[0]?.replace(/^\//, "");
  if (holder && need.ownedBy(holder))
    return { name, status: "ok", detail: `127.0.0.1:${need.port} is held by ${holderName}, as it should be (${need.purpose})` };
  if (holder) {
    const fix = need.fixFor?.(holder) ?? `docker stop ${holderName}${need.alternative ? `   (${need.alternative})` : ""}`;
    return { name, status: "fail", detail: `127.0.0.1:${need.port}, needed for ${need.purpose}, is published by container ${holderName}`, fix };
  }
  const problem = await tryListen(need.port);
  if (!problem) return { name, status: "ok", detail: `127.0.0.1:${need.port} is free (for ${need.purpose})` };
  const finder = platform === "darwin" ? `lsof -nP -iTCP:${need.port} -sTCP:LISTEN` : `sudo ss -ltnp 'sport = :${need.port}'`;
  return {
    name,
    status: "fail",
    detail: `127.0.0.1:${need.port}, needed for ${need.purpose}, is taken by another program (${problem})`,
    fix: `${finder}   (shows the program to stop${need.alternative ? `; ${need.alternative}` : ""})`,
  };
}

/** undefined when 127.0.0.1:port can be listened on; else the reason (EADDRINUSE, EACCES). */
function tryListen(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
