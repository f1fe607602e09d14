import { appendFile, mkdir, writeFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { watchModel, type ModelWatcher } from "../../src/adapters/watch/watcher.js";
import type { ChangeKind } from "../../src/core/dev/changes.js";
import { copyFixture } from "../support/engine.js";

type Batch = { changes: { path: string; kind: ChangeKind }[]; firstEventAt: number };

describe("watching a model directory (real file system)", () => {
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let watcher: ModelWatcher | undefined;
  let batches: Batch[];

  beforeEach(async () => {
    fixture = await copyFixture();
    batches = [];
  });
  afterEach(async () => {
    await watcher?.close();
    await fixture.cleanup();
  });

  const start = async (ignore: string[] = []) => {
    watcher = watchModel({
      dir: fixture.dir,
      contextDir: fixture.dir,
      configFiles: ["mlkube.yaml"],
      manifestPaths: ["k8s"],
      ignore,
      debounceMs: 150,
      onBatch: (changes, firstEventAt) => batches.push({ changes, firstEventAt }),
    });
    await watcher.ready;
  };
  const settle = (ms = 600) => new Promise((resolve) => setTimeout(resolve, ms));

  it("reports an edit to app.py as one build change", async () => {
    await start();
    await appendFile(join(fixture.dir, "app.py"), "\n# edit\n");
    await settle();
    expect(batches).toHaveLength(1);
    expect(batches[0]?.changes).toEqual([{ path: "app.py", kind: "build" }]);
  });

  it("ignores a save that does not change the content", async () => {
    await start();
    const app = join(fixture.dir, "app.py");
    await writeFile(app, await readFile(app));
    await settle();
    expect(batches).toEqual([]);
  });

  it("turns a burst of 500 writes into one batch", async () => {
    await start();
    await mkdir(join(fixture.dir, "pkg"));
    for (let index = 0; index < 500; index++) await writeFile(join(fixture.dir, "pkg", `m${index % 50}.py`), `x = ${index}\n`);
    await settle(800);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.changes.length).toBe(50);
  });

  it("ignores .dockerignore'd files, default ignores and watch.ignore patterns", async () => {
    await start(["scratch/**"]);
    await appendFile(join(fixture.dir, "train.py"), "# excluded by .dockerignore\n");
    await mkdir(join(fixture.dir, "__pycache__"));
    await writeFile(join(fixture.dir, "__pycache__/app.cpython-311.pyc"), "bytecode");
    await mkdir(join(fixture.dir, ".git"));
    await writeFile(join(fixture.dir, ".git/index"), "git");
    await mkdir(join(fixture.dir, "scratch"));
    await writeFile(join(fixture.dir, "scratch/notes.txt"), "ignored by config");
    await settle();
    expect(batches).toEqual([]);
  });

  it("classifies mlkube.yaml and manifests", async () => {
    await start();
    await appendFile(join(fixture.dir, "mlkube.yaml"), "\n# comment\n");
    await mkdir(join(fixture.dir, "k8s"));
    await writeFile(join(fixture.dir, "k8s/deploy.yaml"), "kind: Deployment\n");
    await settle();
    expect(batches.flatMap((batch) => batch.changes).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: "k8s/deploy.yaml", kind: "manifests" },
      { path: "mlkube.yaml", kind: "config" },
    ]);
  });
});
