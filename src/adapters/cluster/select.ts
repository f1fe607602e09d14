import { access, constants, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { ClusterSettings } from "../../config/load.js";
import { chooseProvider, type ProviderKind } from "../../core/provider-choice.js";
import { UserError } from "../../errors.js";
import type { DockerConnection } from "../docker/client.js";
import { runCommand, spawnManaged, type Exec, type Spawn } from "../exec.js";
import { kubeContexts, readKubeConfig } from "../kube/client.js";
import { ContextProvider } from "./context.js";
import { KindProvider } from "./kind.js";
import { DEFAULT_REGISTRY } from "./local-registry.js";
import { MinikubeProvider, listMinikubeProfiles } from "./minikube.js";
import type { ClusterProvider } from "./provider.js";

export interface ClusterFlags {
  provider?: ProviderKind | undefined;
  context?: string | undefined;
}

export interface ProviderDeps {
  docker: DockerConnection;
  exec?: Exec;
  spawn?: Spawn;
  env?: NodeJS.ProcessEnv;
}

/** NodePorts every kind cluster maps, so a few models can share one cluster; plus the configured one. */
const SHARED_NODE_PORTS = [30080, 30081, 30082, 30083, 30084];

/** Picks the cluster provider for a model (and says why), without creating anything. */
export async function selectProvider(config: ClusterSettings, flags: ClusterFlags, deps: ProviderDeps): Promise<ClusterProvider> {
  const exec = deps.exec ?? runCommand;
  const env = deps.env ?? process.env;
  const installed = { kind: await onPath("kind", env), minikube: await onPath("minikube", env) };
  let currentContext: string | undefined;
  try {
    currentContext = kubeContexts(readKubeConfig()).current;
  } catch {
    currentContext = undefined; // no kubeconfig yet: a fresh laptop
  }
  const minikubeProfiles = installed.minikube ? (await listMinikubeProfiles(exec)).map((profile) => profile.name) : [];
  const decision = chooseProvider({
    configured: { provider: config.cluster.provider, clusterName: config.cluster.name, context: config.cluster.context },
    flags,
    currentContext,
    minikubeProfiles,
    installed,
  });
  if ("error" in decision) throw new UserError("cluster", decision.error, { hint: decision.hint });

  const registrySetting = config.cluster.registry;
  switch (decision.kind) {
    case "kind":
      return new KindProvider(decision, {
        nodePorts: [...new Set([config.service.nodePort, ...SHARED_NODE_PORTS])].sort((a, b) => a - b),
        registry: registrySetting === "auto" ? DEFAULT_REGISTRY : undefined,
        registrySetting,
      }, { exec, docker: deps.docker });
    case "minikube":
      return new MinikubeProvider(decision, { registrySetting, platform: process.platform, isWsl: await isWsl() }, { exec, spawn: deps.spawn ?? spawnManaged, docker: deps.docker });
    case "context":
      return new ContextProvider(decision, { registrySetting }, { docker: deps.docker });
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this folder; keep looking
    }
  }
  return false;
}

async function isWsl(): Promise<boolean> {
  if (process.platform !== "linux") return false;
  const version = await readFile("/proc/version", "utf8").catch(() => "");
  return /microsoft/i.test(version);
}
