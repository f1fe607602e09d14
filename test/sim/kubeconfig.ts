/**
 * Kubeconfig files as kind and minikube write them: choose the file like kubectl (--kubeconfig, else
 * the $KUBECONFIG list: the file already holding the entry, else the first existing one, else the
 * last; else ~/.kube/config), lock it, replace the cluster/context/user entries with the same names,
 * set current-context; on delete remove them and clear current-context if it pointed at them.
 * Sources: kind pkg/cluster/internal/kubeconfig/internal/kubeconfig/merge.go (WriteMerged sets
 * `existing.CurrentContext = kind.CurrentContext`) and remove.go ("unset current context if it
 * points to this cluster"); minikube pkg/minikube/kubeconfig/settings.go (PopulateFromSettings:
 * current-context = the profile unless --keep-context) and context.go (DeleteContext clears it only
 * when it named the profile). Both lock FILE.lock (client-go's loader.go lockFile).
 */
import { access, mkdir, open, readFile, rm, writeFile, rename } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { sleep } from "./docker.js";

interface Named {
  name: string;
  [key: string]: unknown;
}
interface KubeconfigFile {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[] | null;
  contexts?: Named[] | null;
  users?: Named[] | null;
  "current-context"?: string;
  preferences?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface KubeconfigEntry {
  /** One name for the cluster, context and user: `kind-NAME` or the minikube profile. */
  name: string;
  cluster: Record<string, unknown>;
  context: Record<string, unknown>;
  user: Record<string, unknown>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function read(path: string): Promise<KubeconfigFile> {
  const text = await readFile(path, "utf8").catch(() => "");
  return ((text.trim() ? parse(text) : undefined) as KubeconfigFile | undefined) ?? {};
}

/** Which file gets `name`: kubectl's merge rules, which kind's kubeconfig package follows. */
export async function kubeconfigPathFor(name: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const list = (process.env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (list.length === 0) return join(homedir(), ".kube", "config");
  for (const path of list) {
    const config = await read(path);
    if ((config.clusters ?? []).some((entry) => entry.name === name)) return path;
  }
  for (const path of list) if (await exists(path)) return path;
  return list[list.length - 1] as string;
}

/** kind and minikube both lock `<file>.lock` while they edit (O_EXCL create). */
async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await (await open(lock, "wx")).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 100) throw new Error(`failed to lock config file: ${lock}: ${String(error)}`);
      await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

function upsert(list: Named[] | null | undefined, entry: Named): Named[] {
  const rest = (list ?? []).filter((item) => item.name !== entry.name);
  return [...rest, entry];
}

async function write(path: string, config: KubeconfigFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, stringify(config), { mode: 0o600 });
  await rename(temporary, path);
}

export async function writeKubeconfigEntry(path: string, entry: KubeconfigEntry, setCurrent: boolean): Promise<void> {
  await withLock(path, async () => {
    const config = await read(path);
    const next: KubeconfigFile = {
      apiVersion: "v1",
      ...config,
      clusters: upsert(config.clusters, { cluster: entry.cluster, name: entry.name }),
      contexts: upsert(config.contexts, { context: entry.context, name: entry.name }),
      "current-context": setCurrent ? entry.name : (config["current-context"] ?? ""),
      kind: "Config",
      preferences: config.preferences ?? {},
      users: upsert(config.users, { name: entry.name, user: entry.user }),
    };
    await write(path, next);
  });
}

export async function removeKubeconfigEntry(path: string, name: string): Promise<void> {
  if (!(await exists(path))) return;
  await withLock(path, async () => {
    const config = await read(path);
    const without = (list: Named[] | null | undefined): Named[] => (list ?? []).filter((item) => item.name !== name);
    await write(path, {
      ...config,
      clusters: without(config.clusters),
      contexts: without(config.contexts),
      users: without(config.users),
      "current-context": config["current-context"] === name ? "" : (config["current-context"] ?? ""),
    });
  });
}

export async function readKubeconfig(path: string): Promise<KubeconfigFile> {
  return read(path);
}
