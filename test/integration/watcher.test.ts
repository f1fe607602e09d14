import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { execa } from "execa";
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
  /** When onBatchStarted was called, and how many batches had been delivered by then. */
  let starts: { at: number; delivered: number }[];

  beforeEach(async () => {
    fixture = await copyFixture();
    batches = [];
    starts = [];
  });
  afterEach(async () => {
    await watcher?.close();
    await fixture.cleanup();
  });

  const start = async (ignore: string[] = [], usePolling = false, resumeFrom?: ReadonlyMap<string, string>) => {
    watcher = watchModel({
      usePolling,
      resumeFrom,
      dir: fixture.dir,
      contextDir: fixture.dir,
      configFiles: ["mlkube.yaml"],
      manifestPaths: ["k8s"],
      ignore,
      debounceMs: 150,
      onBatch: (changes, firstEventAt) => batches.push({ changes, firstEventAt }),
      onBatchStarted: () => starts.push({ at: Date.now(), delivered: batches.length }),
    });
    await watcher.ready;
  };
  const busyWait = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until);
  };
  const settle = (ms = 600) => new Promise((resolve) => setTimeout(resolve, ms));

  it("by polling (the fallback when the kernel's watch limit is reached), an edit is still one build change", async () => {
    await start([], true);
    await appendFile(join(fixture.dir, "app.py"), "\n# edit\n");
    // chokidar polls every 100 ms by default; the window and the hash follow.
    await settle(1_500);
    expect(batches.map((batch) => batch.changes)).toEqual([[{ path: "app.py", kind: "build" }]]);
  });

  it("a watcher started after a failed one reports what changed on disk meanwhile (edited, added, removed), and nothing else", async () => {
    await start();
    const seen = watcher!.contents();
    await watcher!.close();
    watcher = undefined;
    await appendFile(join(fixture.dir, "app.py"), "\n# edited while no watcher ran\n");
    await writeFile(join(fixture.dir, "k8s-extra.txt"), "new\n");
    await rm(join(fixture.dir, "requirements.txt"));
    await start([], false, seen);
    expect(batches.map((batch) => batch.changes.sort((a, b) => a.path.localeCompare(b.path)))).toEqual([
      [
        { path: "app.py", kind: "build" },
        { path: "k8s-extra.txt", kind: "build" },
        { path: "requirements.txt", kind: "build" },
      ],
    ]);
  });

  it("reports an edit to app.py as one build change", async () => {
    await start();
    await appendFile(join(fixture.dir, "app.py"), "\n# edit\n");
    await settle();
    expect(batches).toHaveLength(1);
    expect(batches[0]?.changes).toEqual([{ path: "app.py", kind: "build" }]);
  });

  it("says a batch has started as soon as its first change is known, a quiet window before the batch", async () => {
    await start();
    const before = Date.now();
    await appendFile(join(fixture.dir, "app.py"), "\n# edit\n");
    await appendFile(join(fixture.dir, "requirements.txt"), "\n");
    await settle();
    expect(batches).toHaveLength(1);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.delivered).toBe(0);
    expect(starts[0]!.at - before).toBeLessThan(batches[0]!.firstEventAt - before + 100);
    // A save that changes nothing starts no batch.
    await appendFile(join(fixture.dir, "app.py"), "");
    await settle();
    expect(starts).toHaveLength(1);
  });

  it("ignores a file whose content is back where it was when the batch ends (a save's truncate seen on its own)", async () => {
    await start();
    const app = join(fixture.dir, "app.py");
    const original = await readFile(app);
    // A save of the same text is a truncate and a write; on a loaded machine the watcher can hash
    // the file between the two. Made deterministic: the empty file stays long enough to be hashed.
    await writeFile(app, "");
    await settle(60);
    await writeFile(app, original);
    await settle();
    expect(batches).toEqual([]);
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

  /** Another process writes app.py `writes` times, 3 ms apart, pausing `pauseMs` halfway. */
  const writeInAnotherProcess = (writes: number, pauseMs: number) =>
    execa("node", [
      "-e",
      `
      const { readFileSync, writeFileSync } = require("node:fs");
      const base = readFileSync(process.argv[1], "utf8");
      const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      for (let write = 0; write < ${writes}; write++) {
        writeFileSync(process.argv[1], base + "# write " + write + "\\n");
        sleep(write === ${Math.floor(writes / 2)} ? ${pauseMs} : 3);
      }`,
      join(fixture.dir, "app.py"),
    ]);

  it("keeps a burst together when the writer pauses mid-burst for longer than the normal window", async () => {
    await start();
    await writeInAnotherProcess(200, 250);
    await settle(1_000);
    expect(batches, JSON.stringify(batches)).toHaveLength(1);
    expect(batches[0]?.changes).toEqual([{ path: "app.py", kind: "build" }]);
  });

  it("keeps a burst together when the watching process stalls mid-burst", async () => {
    await start();
    const writer = writeInAnotherProcess(300, 3);
    // Wait for the burst to be under way, then block this (the watching) process for 300 ms, as
    // on a loaded machine: the quiet timer comes due while file events queue up behind it.
    while (!(await readFile(join(fixture.dir, "app.py"), "utf8")).includes("# write ")) await settle(5);
    await settle(60);
    busyWait(300);
    await writer;
    await settle(1_000);
    expect(batches, JSON.stringify(batches)).toHaveLength(1);
  });

  it("a lone save after a burst gets the normal window again", async () => {
    await start();
    for (let index = 0; index < 30; index++) await writeFile(join(fixture.dir, `gen${index}.py`), "x = 1\n");
    await settle(800);
    expect(batches).toHaveLength(1);
    // Two saves 300 ms apart: apart under the normal 150 ms window, together under a burst's 400 ms.
    await appendFile(join(fixture.dir, "app.py"), "\n# edit\n");
    await settle(300);
    await appendFile(join(fixture.dir, "requirements.txt"), "\n# edit\n");
    await settle(800);
    expect(batches.map((batch) => batch.changes.map((change) => change.path))).toEqual([expect.any(Array), ["app.py"], ["requirements.txt"]]);
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
