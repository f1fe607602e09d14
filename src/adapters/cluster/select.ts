import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterSettings } from "../../config/load.js";
import { nodePortRange } from "../../config/schema.js";
import { missingKind, type KindNeed } from "../../core/kind-offer.js";
import { chooseProvider, type ProviderKind } from "../../core/provider-choice.js";
import { UserError } from "../../errors.js";
import type { DockerConnection } from "../docker/client.js";
import { engineEnvForTools } from "../docker/endpoint.js";
import { runCommand, spawnManaged, type Exec, type Spawn } from "../exec.js";
import { kubeContexts, readKubeConfig, readKubeConfigIfPresent } from "../kube/client.js";
import { mlkubeBinDir } from "../tools/kind-release.js";
import { findOnPath, isExecutable, pathDirectories } from "../tools/path-search.js";
import { ContextProvider } from "./context.js";
import { createdClusters, type CreatedClusters } from "./created-clusters.js";
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
  /** mlkube's tool cache, where `doctor --fix` installs kind; default ~/.mlkube/bin. */
  binDir?: string;
  /** Where the clusters mlkube creates are recorded; default ~/.mlkube/created-clusters.json. */
  record?: CreatedClusters;
  /**
   * Called when the choice is kind (or would be, once installed) and kind is not installed: installs
   * kind into binDir or throws the error to show (commands/kind-offer.ts). Without it, the missing
   * tool is an error now (no choice) or when kind is first run (an explicit kind).
   */
  offerKind?: ((need: KindNeed, binDir: string) => Promise<void>) | undefined;
}

/** Picks the cluster provider for a model (and says why), without creating anything. */
export async function selectProvider(config: ClusterSettings, flags: ClusterFlags, deps: ProviderDeps): Promise<ClusterProvider> {
  const env = deps.env ?? process.env;
  const binDir = deps.binDir ?? mlkubeBinDir();
  const tools: ToolPaths = { kind: await findTool("kind", env, binDir), minikube: await findTool("minikube", env, binDir) };
  const installed = () => ({ kind: tools.kind !== undefined, minikube: tools.minikube !== undefined });
  // A tool found only in the cache is run by its full path; the providers keep naming it "kind".
  // kind and minikube run the `docker` CLI: they get the docker context mlkube resolved, by name.
  const engineEnv = engineEnvForTools(deps.docker.resolved);
  const exec = runFrom(tools, engineEnv, deps.exec ?? runCommand);
  const spawn = spawnFrom(tools, engineEnv, deps.spawn ?? spawnManaged);
  // An existing context needs a kubeconfig (a missing one is named); for a local cluster, no
  // kubeconfig yet is a fresh laptop: kind or minikube will write it.
  const wantsContext = (flags.provider ?? config.cluster.provider) === "context";
  const currentContext = kubeContexts(wantsContext ? readKubeConfig() : readKubeConfigIfPresent()).current;
  const minikubeProfiles = installed().minikube ? (await listMinikubeProfiles(exec)).map((profile) => profile.name) : [];
  const choose = () =>
    chooseProvider({
      configured: { provider: config.cluster.provider, clusterName: config.cluster.name, context: config.cluster.context },
      flags,
      currentContext,
      minikubeProfiles,
      installed: installed(),
    });
  let decision = choose();
  const need = missingKind(decision, installed());
  if (need && deps.offerKind) {
    await deps.offerKind(need, binDir);
    // exec and spawn read `tools` when they run: from here on they run the kind just installed.
    tools.kind = await findTool("kind", env, binDir);
    decision = choose();
  }
  if ("error" in decision) throw new UserError("cluster", decision.error, { hint: decision.hint });

  const registrySetting = config.cluster.registry;
  const record = deps.record ?? createdClusters();
  switch (decision.kind) {
    case "kind":
      return new KindProvider(
        decision,
        {
          // The range lets a few models share one cluster; a port pinned in mlkube.yaml is mapped too.
          nodePorts: [...new Set([...(config.service.pinned ? [config.service.nodePort] : []), ...nodePortRange(config.cluster.nodePorts)])].sort(
            (a, b) => a - b,
          ),
          registry: registrySetting === "auto" ? DEFAULT_REGISTRY : undefined,
          registrySetting,
        },
        { exec, docker: deps.docker, record },
      );
    case "minikube":
      return new MinikubeProvider(
        decision,
        { registrySetting, platform: process.platform, isWsl: await isWsl() },
        { exec, spawn, docker: deps.docker, record },
      );
    case "context":
      return new ContextProvider(decision, { registrySetting }, { docker: deps.docker });
  }
}

type ToolPaths = Record<"kind" | "minikube", string | undefined>;

/**
 * How to run a cluster tool: its bare name when it is on the PATH (the user's choice comes first),
 * else its full path in mlkube's cache (where `doctor --fix` puts a verified kind, without
 * touching the user's PATH), else undefined: not installed.
 */
export async function findTool(name: string, env: NodeJS.ProcessEnv, binDir: string): Promise<string | undefined> {
  if (await findOnPath(name, pathDirectories(env))) return name;
  const cached = join(binDir, name);
  return (await isExecutable(cached)) ? cached : undefined;
}

function resolveTool(tools: ToolPaths, file: string): string {
  return (file === "kind" || file === "minikube" ? tools[file] : undefined) ?? file;
}

function runFrom(tools: ToolPaths, engineEnv: Record<string, string>, exec: Exec): Exec {
  return (file, args, options = {}) => exec(resolveTool(tools, file), args, { ...options, env: { ...engineEnv, ...options.env } });
}

function spawnFrom(tools: ToolPaths, engineEnv: Record<string, string>, spawn: Spawn): Spawn {
  return (file, args, options = {}) => spawn(resolveTool(tools, file), args, { ...options, env: { ...engineEnv, ...options.env } });
}

async function isWsl(): Promise<boolean> {
  if (process.platform !== "linux") return false;
  const version = await readFile("/proc/version", "utf8").catch(() => "");
  return /microsoft/i.test(version);
}
