import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * The NodePort each model directory had, so the same model keeps its URL across sessions
 * (issue #16): `{ "/abs/model/dir": 30081 }` in $MLKUBE_HOME/node-ports.json.
 */
export interface ModelPorts {
  /** Every model directory's port. */
  read(): Promise<Record<string, number>>;
  remember(dir: string, port: number): Promise<void>;
}

export function modelPortsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MLKUBE_HOME ?? join(homedir(), ".mlkube"), "node-ports.json");
}

export function modelPorts(file = modelPortsFile()): ModelPorts {
  return {
    read: async () => (await readRecord(file)).ports,
    remember: async (dir, port) => {
      const record = await readRecord(file);
      if (record.ports[dir] === port && !record.damaged) return;
      // A damaged record is kept beside the new one, not lost: it is only a preference, so mlkube goes on.
      if (record.damaged) await rename(file, `${file}.damaged`);
      await mkdir(dirname(file), { recursive: true });
      const ports = Object.fromEntries(Object.entries({ ...record.ports, [dir]: port }).sort(([a], [b]) => a.localeCompare(b)));
      await writeFile(file, `${JSON.stringify(ports, null, 2)}\n`);
    },
  };
}

async function readRecord(file: string): Promise<{ ports: Record<string, number>; damaged: boolean }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ports: {}, damaged: false };
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const entries = Object.entries(parsed).filter((entry): entry is [string, number] => Number.isInteger(entry[1]));
      return { ports: Object.fromEntries(entries), damaged: entries.length !== Object.keys(parsed).length };
    }
  } catch {
    // not JSON: treated as damaged below
  }
  return { ports: {}, damaged: true };
}
