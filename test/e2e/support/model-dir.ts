/** Helpers for the clusters, delivery and rollout e2e files: private model directories and `dev --once --json`. */
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BASE_IMAGE, copyFixture } from "../../support/engine.js";
import { predictAt } from "../../support/http.js";
import { clusterYaml, mlkube, type CliResult } from "./cluster.js";

export interface ModelDir {
  dir: string;
  cleanup: () => Promise<void>;
  /** Replaces text in a file of the model directory. */
  edit: (file: string, from: string | RegExp, to: string) => Promise<void>;
  write: (file: string, text: string) => Promise<void>;
}

/** A copy of the iris fixture whose mlkube.yaml picks the given cluster (and any extra top-level YAML). */
export async function modelDir(cluster: string, clusterExtra = "", topLevelExtra = ""): Promise<ModelDir> {
  const copy = await copyFixture();
  await appendFile(join(copy.dir, "mlkube.yaml"), `${clusterYaml(cluster, clusterExtra)}${topLevelExtra}`);
  return {
    ...copy,
    edit: async (file, from, to) => {
      const path = join(copy.dir, file);
      const before = await readFile(path, "utf8");
      const after = before.replace(from, to);
      if (after === before) throw new Error(`edit of ${file} changed nothing`);
      await writeFile(path, after);
    },
    write: (file, text) => writeFile(join(copy.dir, file), text),
  };
}

interface Event {
  type: string;
  [field: string]: unknown;
}

export interface DevRun extends CliResult {
  events: Event[];
  of: (type: string) => Event[];
}

/** `mlkube dev --once --json DIR`, with the test base image and fast back-offs in the simulator. */
export async function devOnce(dir: string, env: NodeJS.ProcessEnv = {}): Promise<DevRun> {
  const result = await mlkube(["dev", "--once", "--json", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, dir], { env: { MLKUBE_SIM_FAST_BACKOFF: "1", ...env } });
  const events = result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Event);
  return { ...result, events, of: (type) => events.filter((event) => event.type === type) };
}

/** The `problem` event of a failed iteration's stage, as one text (message + details + hint). */
export function problemText(run: DevRun, stage: string): string {
  const problem = run.of("problem").find((event) => event.stage === stage);
  if (!problem) throw new Error(`no problem event for stage ${stage}; events:\n${run.stdout}\n${run.stderr}`);
  return [problem.message, ...((problem.details as string[] | undefined) ?? []), problem.hint ?? ""].join("\n");
}

/** POST /predict on the kind node port, as a user's curl would. */
export function predict(nodePort = 30080, features = [5.1, 3.5, 1.4, 0.2]): Promise<{ status: number; body: unknown }> {
  return predictAt(`http://127.0.0.1:${nodePort}`, features);
}
