import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * What mlkube learnt about each model directory and keeps across sessions (issue #16): the
 * NodePort it chose (the same model keeps its URL) and the health endpoint it detected (the
 * Deployment keeps its readiness probe). In $MLKUBE_HOME/models.json, keyed by absolute directory.
 */
interface RememberedModel {
  nodePort?: number | undefined;
  readiness?: { path: string; protocol: string } | undefined;
}

export interface ModelMemory {
  /** Every model directory's memory. */
  read(): Promise<Record<string, RememberedModel>>;
  /** Changes one directory's memory; a field set to undefined is forgotten. */
  update(dir: string, change: RememberedModel): Promise<void>;
}

function modelMemoryFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MLKUBE_HOME ?? join(homedir(), ".mlkube"), "models.json");
}

export function modelMemory(file = modelMemoryFile()): ModelMemory {
  return {
    read: async () => (await readRecord(file)).models,
    update: async (dir, change) => {
      const record = await readRecord(file);
      const next = JSON.parse(JSON.stringify({ ...record.models[dir], ...change })) as RememberedModel;
      if (JSON.stringify(next) === JSON.stringify(record.models[dir] ?? {}) && !record.damaged) return;
      // A damaged record is kept beside the new one, not lost: it holds only preferences, so mlkube goes on.
      if (record.damaged) await rename(file, `${file}.damaged`);
      await mkdir(dirname(file), { recursive: true });
      const models = Object.fromEntries(Object.entries({ ...record.models, [dir]: next }).sort(([a], [b]) => a.localeCompare(b)));
      await writeFile(file, `${JSON.stringify(models, null, 2)}\n`);
    },
  };
}

async function readRecord(file: string): Promise<{ models: Record<string, RememberedModel>; damaged: boolean }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { models: {}, damaged: false };
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const entries = Object.entries(parsed).filter((entry): entry is [string, RememberedModel] => isRemembered(entry[1]));
      return { models: Object.fromEntries(entries), damaged: entries.length !== Object.keys(parsed).length };
    }
  } catch {
    // not JSON: treated as damaged below
  }
  return { models: {}, damaged: true };
}

function isRemembered(value: unknown): value is RememberedModel {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { nodePort, readiness } = value as Record<string, unknown>;
  const readinessOk =
    readiness === undefined ||
    (typeof readiness === "object" &&
      readiness !== null &&
      typeof (readiness as { path?: unknown }).path === "string" &&
      typeof (readiness as { protocol?: unknown }).protocol === "string");
  return (nodePort === undefined || Number.isInteger(nodePort)) && readinessOk;
}
