import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Which clusters mlkube itself created. `mlkube down` deletes only these: a cluster the user made
 * with kind or minikube, and then pointed mlkube at, is theirs to delete.
 */
export interface CreatedClusters {
  /** Whether the record lists the cluster; `damage` says why the record could not be read whole. */
  lookup(provider: string, name: string): Promise<{ listed: boolean; file: string; damage?: string | undefined }>;
  add(provider: string, name: string): Promise<void>;
  remove(provider: string, name: string): Promise<void>;
}

export function createdClustersFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MLKUBE_HOME ?? join(homedir(), ".mlkube"), "created-clusters.json");
}

export function createdClusters(file = createdClustersFile()): CreatedClusters {
  const key = (provider: string, name: string) => `${provider}/${name}`;
  const write = async (entries: string[]) => {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify([...new Set(entries)].sort(), null, 2)}\n`);
  };
  /** Before rewriting a damaged record, its text is kept beside it, never lost. */
  const update = async (change: (entries: string[]) => string[]) => {
    const record = await readRecord(file);
    if (record.damage) await rename(file, `${file}.damaged`);
    await write(change(record.entries));
  };
  return {
    lookup: async (provider, name) => {
      const record = await readRecord(file);
      return { listed: record.entries.includes(key(provider, name)), file, damage: record.damage };
    },
    add: (provider, name) => update((entries) => [...entries, key(provider, name)]),
    remove: (provider, name) => update((entries) => entries.filter((entry) => entry !== key(provider, name))),
  };
}

/**
 * The record's entries. A damaged file (cut short, edited by hand) still yields every entry that
 * can be recognised in it, so one stray byte does not make mlkube forget the clusters it made.
 */
async function readRecord(file: string): Promise<{ entries: string[]; damage?: string | undefined }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [] };
    throw error;
  }
  let damage: string;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((entry) => typeof entry === "string")) return { entries: parsed };
    damage = 'not a JSON list of "provider/name" strings';
  } catch (error) {
    damage = `not valid JSON: ${(error as Error).message}`;
  }
  return { entries: [...text.matchAll(/"((?:kind|minikube)\/[^"\s]+)"/g)].map((match) => match[1] ?? ""), damage };
}
