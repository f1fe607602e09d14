/**
 * The model directories the bench edits: copies of fixtures/iris-sklearn with bench/model/app.py
 * (the same service plus /version and /flood), and the three kinds of edit. Every edit writes
 * content no earlier build has seen (a run nonce, a freshly trained model), so neither mlkube nor
 * the hand-run can get a free layer-cache hit from the other or from an earlier run.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFile, copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_IMAGE, copyFixture } from "../test/support/engine.js";
import { clusterYaml } from "../test/e2e/support/cluster.js";

export type ChangeKind = "code" | "model" | "deps";
export const CHANGE_KINDS: readonly ChangeKind[] = ["code", "model", "deps"];
/** The file each kind of change edits: the trigger mlkube reports names it. */
export const CHANGED_FILE: Record<ChangeKind, string> = { code: "app.py", model: "model.pkl", deps: "requirements.txt" };

const BENCH_APP = new URL("./model/app.py", import.meta.url).pathname;
const TRAIN = new URL("./model/train-variants.py", import.meta.url).pathname;

export interface ModelCopy {
  dir: string;
  cleanup: () => Promise<void>;
}

/** A copy of the fixture with the bench's app.py; with a cluster name, its mlkube.yaml picks that cluster. */
export async function modelCopy(cluster?: string, clusterExtra = ""): Promise<ModelCopy> {
  const copy = await copyFixture();
  await copyFile(BENCH_APP, join(copy.dir, "app.py"));
  if (cluster) await appendFile(join(copy.dir, "mlkube.yaml"), `\n${clusterYaml(cluster, clusterExtra)}`);
  return copy;
}

/** Trained iris models, each different; `next()` hands out one that was never used before. */
export class ModelVariants {
  private used = 0;
  private constructor(
    readonly dir: string,
    readonly count: number,
  ) {}

  static async train(count: number): Promise<ModelVariants> {
    const dir = await mkdtemp(join(tmpdir(), "mlkube-bench-models-"));
    // Inside the base image: the pickles must match the scikit-learn the service runs.
    execFileSync("docker", ["run", "--rm", "-v", `${dir}:/out`, "-v", `${TRAIN}:/train.py:ro`, BASE_IMAGE, "python3", "/train.py", String(count)], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    return new ModelVariants(dir, count);
  }

  next(): string {
    if (this.used >= this.count) throw new Error(`all ${this.count} trained model variants are used`);
    return join(this.dir, `model-${this.used++}.pkl`);
  }
}

/** Makes one edit of the given kind; `label` is unique in the run (it includes the run's nonce). */
export async function applyEdit(dir: string, kind: ChangeKind, label: string, models: ModelVariants): Promise<void> {
  if (kind === "code") {
    const path = join(dir, "app.py");
    const before = await readFile(path, "utf8");
    const after = before.replace(/^BENCH_EDIT = .*$/m, `BENCH_EDIT = "${label}"`);
    if (after === before) throw new Error("the code edit changed nothing");
    await writeFile(path, after);
  } else if (kind === "model") {
    await copyFile(models.next(), join(dir, "model.pkl"));
  } else {
    // No package index is reachable here, so a dependency change is an edit of requirements.txt
    // that keeps the pins: the install step (and every layer after it) still runs again.
    const path = join(dir, "requirements.txt");
    const lines = (await readFile(path, "utf8")).split("\n").filter((line) => !line.startsWith("# bench edit"));
    await writeFile(path, `${lines.join("\n").trimEnd()}\n# bench edit ${label}\n`);
  }
}

/** What GET /version of a pod built from this directory answers (bench/model/app.py computes the same). */
export async function fingerprint(dir: string): Promise<string> {
  const digest = createHash("sha256");
  for (const name of ["app.py", "model.pkl", "requirements.txt"]) digest.update(await readFile(join(dir, name)));
  return digest.digest("hex");
}
