import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Which clusters mlkube itself created. `mlkube down` deletes only these: a cluster the user made
 * with kind or minikube, and then pointed mlkube at, is theirs to delete.
 */
export interface CreatedClusters {
  has(provider: string, name: string): Promise<boolean>;
  add(provider: string, name: string): Promise<void>;
  remove(provider: string, name: string): Promise<void>;
}

export function createdClustersFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MLKUBE_HOME ?? join(homedir(), ".mlkube"), "created-clusters.json");
}

export function createdClusters(file = createdClustersFile()): CreatedClusters {
  const read = async (): Promise<string[]> => {
    try {
      return JSON.parse(await readFile(file, "utf8")) as string[];
    } catch {
      return [];
    }
  };
  const write = async (entries: string[]) => {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify([...new Set(entries)].sort(), null, 2)}\n`);
  };
  const key = (provider: string, name: string) => `${provider}/${name}`;
  return {
    has: async (provider, name) => (await read()).includes(key(provider, name)),
    add: async (provider, name) => write([...(await read()), key(provider, name)]),
    remove: async (provider, name) => write((await read()).filter((entry) => entry !== key(provider, name))),
  };
}
