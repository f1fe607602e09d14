import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, VersionApi, type KubernetesObject } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { UserError } from "../../errors.js";
import { connectionFailure } from "../connection-errors.js";

/** The API clients for one kube context. */
export interface KubeAccess {
  context: string;
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

/** Where the kubeconfig is read from, as kubectl reads it: the files in $KUBECONFIG, else ~/.kube/config. */
function kubeconfigLocation(env: NodeJS.ProcessEnv = process.env): { files: string[]; from: string } {
  const listed = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (listed.length > 0) return { files: listed, from: "from KUBECONFIG" };
  return { files: [join(env.HOME || homedir(), ".kube", "config")], from: "KUBECONFIG is not set" };
}

/** No kubeconfig file at all: a fresh machine, or KUBECONFIG pointing at the wrong place. */
class MissingKubeconfigError extends UserError {
  constructor(files: readonly string[], from: string) {
    const what =
      files.length === 1 ? `The kubeconfig ${files[0]} (${from}) does not exist.` : `None of the kubeconfig files ${files.join(", ")} (${from}) exists.`;
    super("cluster", what, {
      hint: "Create a local cluster with 'mlkube up' (it writes the kubeconfig and restores a missing kind context), or set KUBECONFIG to your kubeconfig file.",
    });
  }
}

/**
 * Reads the kubeconfig without choosing a context. Like kubectl, files in $KUBECONFIG that do
 * not exist are skipped; when none exists, or one cannot be read, the UserError names the file.
 */
export function readKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const { files, from } = kubeconfigLocation(env);
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) throw new MissingKubeconfigError(files, from);
  const config = new KubeConfig();
  for (const [index, file] of present.entries()) {
    const part = index === 0 ? config : new KubeConfig();
    try {
      part.loadFromFile(file);
      // kubectl's rule: the first file that sets current-context wins.
      if (part !== config) config.mergeConfig(part, config.currentContext !== "");
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const problem =
        code === "EACCES" || code === "EPERM"
          ? "cannot be read (permission denied)"
          : code === "EISDIR"
            ? "is a directory, not a file"
            : `is not a valid kubeconfig: ${(cause as Error).message.split("\n")[0]}`;
      throw new UserError("cluster", `The kubeconfig ${file} (${from}) ${problem}.`, {
        hint: `Check it with 'kubectl config view --kubeconfig ${file}', or set KUBECONFIG to another file.`,
        cause,
      });
    }
  }
  return config;
}

/** The kubeconfig, or undefined when there is none yet (kind and minikube write it when they create a cluster). */
export function readKubeConfigIfPresent(env: NodeJS.ProcessEnv = process.env): KubeConfig | undefined {
  try {
    return readKubeConfig(env);
  } catch (error) {
    if (error instanceof MissingKubeconfigError) return undefined;
    throw error;
  }
}

/** The current context and every context's name; none when there is no kubeconfig yet. */
export function kubeContexts(config: KubeConfig | undefined = readKubeConfigIfPresent()): { current: string | undefined; names: string[] } {
  if (!config) return { current: undefined, names: [] };
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
  const where = { context, server: config.getCurrentCluster()?.server ?? "(no server)" };
  return {
    context,
    config,
    core: translatingConnectionErrors(config.makeApiClient(CoreV1Api), where),
    apps: translatingConnectionErrors(config.makeApiClient(AppsV1Api), where),
    objects: translatingConnectionErrors(KubernetesObjectApi.makeApiClient(config), where),
  };
}

/** Fails clearly, within `timeoutMs`, when the context's API server does not answer. */
export async function ensureKubeReachable(kube: KubeAccess, timeoutMs = 10_000): Promise<string> {
  const where = { context: kube.context, server: kube.config.getCurrentCluster()?.server ?? "(no server)" };
  try {
    const version = await withTimeout(kube.config.makeApiClient(VersionApi).getCode(), timeoutMs);
    return version.gitVersion;
  } catch (cause) {
    throw (
      unreachableCluster(cause, where) ??
      new UserError("cluster", `The cluster at ${where.server} (context ${where.context}) did not answer its version request: ${(cause as Error).message}.`, {
        hint: `Check it with 'kubectl --context ${where.context} get nodes'; a local cluster may need 'mlkube up'.`,
        cause,
      })
    );
  }
}

/** A failed connection to the API server as a UserError naming the server, its context and the fix. */
export function unreachableCluster(cause: unknown, where: { context: string; server: string }): UserError | undefined {
  const failure = connectionFailure(cause);
  if (!failure) return undefined;
  return new UserError("cluster", `The cluster at ${where.server} (context ${where.context}) cannot be reached: ${failure.reason}.`, {
    hint: `Start the cluster ('mlkube up' for a local one; 'kubectl --context ${where.context} get nodes' checks it), or choose another context with --context NAME ('kubectl config get-contexts' lists them).`,
    cause,
  });
}

/**
 * Every call on a generated API client goes through here, so a dead or misconfigured cluster is
 * reported as the user's problem wherever mlkube happens to ask the cluster first.
 */
function translatingConnectionErrors<T extends object>(api: T, where: { context: string; server: string }): T {
  return new Proxy(api, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          throw unreachableCluster(error, where) ?? error;
        });
      };
    },
  });
}

/** Server-side apply with field manager `mlkube`: mlkube owns the fields it sets and nothing else. */
export async function applyObject<T extends KubernetesObject>(kube: KubeAccess, object: T): Promise<T> {
  return kube.objects.patch(object, undefined, undefined, "mlkube", true, PatchStrategy.ServerSideApply);
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number }).code === 404 || (error as { statusCode?: number }).statusCode === 404;
}

/** The API server refused this user the request (RBAC): asking again will not change it. */
export function isForbidden(error: unknown): boolean {
  return (error as { code?: number }).code === 403 || (error as { statusCode?: number }).statusCode === 403;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: "timeout" })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The API server's own words for a failed request (the Status in the response body), else the error's message. */
export function statusMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? (error as Error).message;
}
