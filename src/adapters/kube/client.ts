import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, VersionApi, type KubernetesObject } from "@kubernetes/client-node";
import { UserError } from "../../errors.js";

/** The API clients for one kube context. */
export interface KubeAccess {
  context: string;
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

/** Reads the kubeconfig ($KUBECONFIG or ~/.kube/config) without choosing a context. */
export function readKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  return config;
}

export function kubeContexts(config: KubeConfig = readKubeConfig()): { current: string | undefined; names: string[] } {
  const current = config.getCurrentContext();
  return { current: current && current !== "loaded-context" ? current : undefined, names: config.getContexts().map((context) => context.name) };
}

/** Clients bound to a named context (never silently to whatever is current). */
export function connectKube(context: string, config: KubeConfig = readKubeConfig()): KubeAccess {
  if (!config.getContexts().some((candidate) => candidate.name === context)) {
    throw new UserError("cluster", `The kubeconfig has no context '${context}'.`, {
      hint: `List contexts with 'kubectl config get-contexts'; for a kind cluster run 'kind export kubeconfig --name ${context.replace(/^kind-/, "")}', or run 'mlkube up' to create it.`,
    });
  }
  config.setCurrentContext(context);
  return {
    context,
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(config),
  };
}

/** Fails clearly when the context's API server does not answer. */
export async function ensureKubeReachable(kube: KubeAccess, timeoutMs = 10_000): Promise<string> {
  const server = kube.config.getCurrentCluster()?.server ?? "(no server)";
  try {
    const version = await withTimeout(kube.config.makeApiClient(VersionApi).getCode(), timeoutMs);
    return version.gitVersion;
  } catch (cause) {
    throw new UserError("cluster", `The cluster of context '${kube.context}' does not answer at ${server} (${describe(cause)}).`, {
      hint: `Check it with 'kubectl --context ${kube.context} get nodes'; a local cluster may need 'mlkube up'.`,
      cause,
    });
  }
}

/** One cheap request to the API server (GET /version), for the dev loop's health watch. */
export async function pingApiServer(kube: KubeAccess): Promise<void> {
  await kube.config.makeApiClient(VersionApi).getCode();
}

/** Server-side apply with field manager `mlkube`: mlkube owns the fields it sets and nothing else. */
export async function applyObject<T extends KubernetesObject>(kube: KubeAccess, object: T): Promise<T> {
  return kube.objects.patch(object, undefined, undefined, "mlkube", true, PatchStrategy.ServerSideApply);
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number }).code === 404 || (error as { statusCode?: number }).statusCode === 404;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return cause ?? (error as Error).message ?? String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: "timeout" })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
