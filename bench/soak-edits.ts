/**
 * The soak's edits (issue #15): the everyday kinds (code, model, deps) and two mistakes with their
 * fixes, a Dockerfile that does not parse and an app.py that exits at start. Each edit writes
 * content no build has seen (the label holds the run's nonce and the iteration), so every edit
 * causes an iteration: a fix is never byte-identical to what was there before the mistake.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyEdit, type ModelVariants } from "./workspace.js";

export type SoakEdit = "code" | "model" | "deps" | "broken build" | "build fix" | "crashing pod" | "crash fix";

/**
 * One cycle, repeated until the iteration count is reached: eight edits, so 200 iterations are 25
 * cycles. A mistake is always followed by its fix, so the next cycle starts from a working model.
 */
export const SOAK_CYCLE: readonly SoakEdit[] = ["code", "model", "deps", "code", "broken build", "build fix", "crashing pod", "crash fix"];

/** The mistakes must fail; everything else, fixes included, must succeed. */
export function expectedResult(edit: SoakEdit): "success" | "failed" {
  return edit === "broken build" || edit === "crashing pod" ? "failed" : "success";
}

export function editAt(iteration: number): SoakEdit {
  return SOAK_CYCLE[(iteration - 1) % SOAK_CYCLE.length]!;
}

/** Model edits in `iterations`: each takes a model trained for it. */
export function modelEdits(iterations: number): number {
  let count = 0;
  for (let iteration = 1; iteration <= iterations; iteration++) if (editAt(iteration) === "model") count++;
  return count;
}

/** One edit; `dockerfile` is the original Dockerfile, which the build fix restores. */
export async function applySoakEdit(dir: string, edit: SoakEdit, label: string, models: ModelVariants, dockerfile: string): Promise<void> {
  const dockerfilePath = join(dir, "Dockerfile");
  switch (edit) {
    case "code":
    case "model":
    case "deps":
      return applyEdit(dir, edit, label, models);
    case "broken build":
      // Not an instruction: the Dockerfile no longer parses, the build fails before any step runs.
      return writeFile(dockerfilePath, `${dockerfile.trimEnd()}\nBENCH_BROKEN ${label}\n`);
    case "build fix":
      // The original instructions; the comment makes the file new without changing any layer.
      return writeFile(dockerfilePath, `${dockerfile.trimEnd()}\n# bench fix ${label}\n`);
    case "crashing pod":
      // The server exits at start, after its imports: the pod can only crash.
      return rewriteApp(dir, (app) => app.replace(/^BENCH_EDIT = .*$/m, `BENCH_EDIT = "${label}"\nraise SystemExit("bench soak: crash at start")`));
    case "crash fix":
      return rewriteApp(dir, (app) => app.replace(/^raise SystemExit\("bench soak: .*"\)\n/m, "").replace(/^BENCH_EDIT = .*$/m, `BENCH_EDIT = "${label}"`));
  }
}

/** In one write: two writes could reach the watcher as two changes. */
async function rewriteApp(dir: string, change: (app: string) => string): Promise<void> {
  const path = join(dir, "app.py");
  const before = await readFile(path, "utf8");
  const after = change(before);
  if (after === before) throw new Error("the app.py edit changed nothing");
  await writeFile(path, after);
}
