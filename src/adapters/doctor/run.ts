import { readFile } from "node:fs/promises";
import type { ClusterSettings } from "../../config/load.js";
import { inotifyCheck, proxyCheck, type DoctorCheck, type InotifyLimits } from "../../core/doctor.js";
import type { RegistrySettings } from "../cluster/local-registry.js";
import type { Exec } from "../exec.js";
import { checkContext } from "./context.js";
import { checkDisk, checkDocker } from "./engine.js";
import { checkPort, nodePortNeed, registryPort } from "./ports.js";
import { checkRegistry } from "./registry.js";
import { checkTools } from "./tools.js";
import { withTimeout } from "./timeout.js";

export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  exec: Exec;
  cwd: string;
  /** mlkube's tool cache (~/.mlkube/bin). */
  binDir: string;
  registry: RegistrySettings;
  /** From mlkube.yaml; undefined when it has errors (the defaults are checked then). */
  settings: ClusterSettings | undefined;
  /** Where the kernel's inotify limits are (a parameter so tests need no root). */
  inotifyDir?: string | undefined;
}

const DEFAULT_NODE_PORT = 30080;

/** Every check, in the order a person fixes them: engine first, then tools, cluster, network. */
export async function runChecks(deps: DoctorDeps): Promise<DoctorCheck[]> {
  const docker = await checkDocker(deps.env, deps.platform);
  const client = docker.engine?.connection.client;
  const containers = client ? await withTimeout(client.listContainers(), 5_000).catch(() => undefined) : undefined;
  const tools = await checkTools({ env: deps.env, exec: deps.exec, binDir: deps.binDir });
  const nodePort = deps.settings?.service.nodePort ?? DEFAULT_NODE_PORT;
  const registrySetting = deps.settings?.cluster.registry ?? "auto";
  // The registry's port matters only when mlkube runs the registry.
  // Only the model's own kind cluster may hold its NodePort (without mlkube.yaml: any kind cluster).
  const nodePortHolder = nodePortNeed(nodePort, deps.settings?.cluster.name);
  const ports = registrySetting === "auto" ? [registryPort(deps.registry.container, deps.registry.hostPort), nodePortHolder] : [nodePortHolder];
  return [
    docker.check,
    await checkDisk(docker.engine, deps.cwd),
    ...tools.checks,
    await checkContext(tools.found),
    await checkRegistry(client, deps.registry, registrySetting),
    ...(await Promise.all(ports.map((need) => checkPort(need, containers, deps.platform)))),
    inotifyCheck(deps.platform, deps.platform === "linux" ? await readInotifyLimits(deps.inotifyDir ?? "/proc/sys/fs/inotify") : undefined),
    proxyCheck(deps.env),
  ];
}

async function readInotifyLimits(dir: string): Promise<InotifyLimits | undefined> {
  try {
    const read = async (name: string) => Number((await readFile(`${dir}/${name}`, "utf8")).trim());
    return { maxUserWatches: await read("max_user_watches"), maxUserInstances: await read("max_user_instances") };
  } catch {
    return undefined; // hidden /proc (some containers): the check says the limits are unknown
  }
}
