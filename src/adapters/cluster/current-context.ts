import { open, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseDocument } from "yaml";
import type { ClusterStep, StepReporter } from "./provider.js";

/**
 * The user's current kube context is theirs. `kind create cluster` and `kind export kubeconfig`
 * set it to the new cluster (kind pkg/cluster/internal/kubeconfig/internal/kubeconfig/merge.go,
 * "set the current context"), `minikube start` does unless --keep-context
 * (minikube pkg/minikube/kubeconfig/settings.go, PopulateFromSettings), and both deletes unset it
 * when it named the deleted cluster (kind .../kubeconfig/remove.go; minikube
 * pkg/minikube/kubeconfig/context.go, DeleteContext). mlkube never needs the current context (it
 * names its context everywhere), so it puts back what a tool changed, and says so.
 */
interface ContextSnapshot {
  /** current-context of each kubeconfig file, in $KUBECONFIG order ("" when unset). */
  files: { path: string; current: string }[];
  /** The effective current context: the first file that sets one wins (kubectl's merge rule). */
  current: string | undefined;
  contexts: string[];
}

function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  return list.length > 0 ? [...new Set(list)] : [join(homedir(), ".kube", "config")];
}

export async function snapshotCurrentContext(env: NodeJS.ProcessEnv = process.env): Promise<ContextSnapshot> {
  const files: ContextSnapshot["files"] = [];
  const contexts: string[] = [];
  for (const path of kubeconfigFiles(env)) {
    const config = await readKubeconfigFile(path);
    files.push({ path, current: typeof config["current-context"] === "string" ? config["current-context"] : "" });
    for (const context of Array.isArray(config.contexts) ? config.contexts : []) {
      const name = (context as { name?: unknown } | null)?.name;
      if (typeof name === "string") contexts.push(name);
    }
  }
  return { files, current: files.find((file) => file.current !== "")?.current, contexts };
}

/**
 * Puts back the current context a tool changed while BEFORE was taken, when that context still
 * exists, and returns the line to show: what was kept, or what changed and why (undefined when
 * nothing changed). `clusterContext` is the context mlkube itself uses, by name.
 */
export async function restoreCurrentContext(
  before: ContextSnapshot,
  clusterContext: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClusterStep | undefined> {
  const after = await snapshotCurrentContext(env);
  if (after.current === before.current) return undefined;
  const title = "kube context";
  if (before.current === undefined) {
    return { title, status: "done", detail: `your current context is now '${after.current}' (you had none)` };
  }
  if (!after.contexts.includes(before.current)) {
    return {
      title,
      status: "done",
      detail: `your current context '${before.current}' was removed with the cluster; none is current now. Pick one with 'kubectl config use-context NAME'${after.contexts.length > 0 ? ` (${after.contexts.join(", ")})` : ""}`,
    };
  }
  for (const file of before.files) {
    const now = after.files.find((candidate) => candidate.path === file.path);
    if (now && now.current !== file.current) await setFileCurrentContext(file.path, file.current);
  }
  const check = await snapshotCurrentContext(env);
  if (check.current !== before.current) {
    return {
      title,
      status: "failed",
      detail: `your current context is now '${check.current ?? "(none)"}'; restore yours with 'kubectl config use-context ${before.current}'`,
    };
  }
  return { title, status: "skipped", detail: `kept your current context '${before.current}' (mlkube uses '${clusterContext}' by name)` };
}

/** Runs WORK (a kind/minikube call that may move the current context), then puts it back and reports. */
export async function keepingCurrentContext<T>(
  clusterContext: string,
  report: StepReporter,
  work: () => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const before = await snapshotCurrentContext(env);
  try {
    return await work();
  } finally {
    const step = await restoreCurrentContext(before, clusterContext, env).catch((error: unknown): ClusterStep => ({
      title: "kube context",
      status: "failed",
      detail: `could not check or restore your current context (${(error as Error).message})${before.current ? `; restore it with 'kubectl config use-context ${before.current}'` : ""}`,
    }));
    if (step) report(step);
  }
}

async function readKubeconfigFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, "utf8").catch(() => "");
  try {
    const parsed: unknown = parseDocument(text).toJS();
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {}; // not YAML: kubectl would refuse it too; nothing of ours to restore there
  }
}

/** Changes only `current-context` in one file, under the lock kind, minikube and kubectl take (FILE.lock). */
async function setFileCurrentContext(path: string, current: string): Promise<void> {
  await withKubeconfigLock(path, async () => {
    const document = parseDocument(await readFile(path, "utf8"));
    if (current === "" && !document.has("current-context")) return;
    document.set("current-context", current);
    await writeFile(path, document.toString());
  });
}

async function withKubeconfigLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await (await open(lock, "wx")).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 50) throw new Error(`the kubeconfig is locked (${lock})`, { cause: error });
      await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}
