import { mkdir, mkdtemp, rm, symlink, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileHashCache, contextDigest, listContext } from "../../src/adapters/docker/build-context.js";
import { contextFilterFromPatterns } from "../../src/adapters/docker/dockerignore.js";

describe(".dockerignore semantics (Docker's, not git's)", () => {
  it.each([
    // pattern lines, path, excluded?
    [["*.pyc"], "app.pyc", true],
    [["*.pyc"], "pkg/app.pyc", false], // '*' does not cross folders in .dockerignore
    [["**/*.pyc"], "pkg/deep/app.pyc", true],
    [["data"], "data/train.csv", true],
    [["data"], "src/data", false], // anchored at the context root, unlike .gitignore
    [["data", "!data/keep.csv"], "data/keep.csv", false],
    [["# a comment", ""], "# a comment", false],
  ] as const)("%j excludes %s: %s", (patterns, path, excluded) => {
    expect(contextFilterFromPatterns(patterns).excludes(path)).toBe(excluded);
  });

  it("prunes an excluded folder only when no exception could re-include a child", () => {
    expect(contextFilterFromPatterns([".venv"]).canPrune(".venv")).toBe(true);
    expect(contextFilterFromPatterns(["data", "!data/keep.csv"]).canPrune("data")).toBe(false);
  });
});

describe("build context listing and digest", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-ctx-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    await writeFile(join(dir, "app.py"), "print('hi')\n");
    await writeFile(join(dir, ".dockerignore"), ".venv\n*.log\n");
    await mkdir(join(dir, ".venv/lib"), { recursive: true });
    await writeFile(join(dir, ".venv/lib/big.so"), "x");
    await writeFile(join(dir, "run.log"), "noise");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const digestOf = async (extra: Partial<Parameters<typeof contextDigest>[0]> = {}) =>
    contextDigest({ entries: await listContext(dir, new FileHashCache()), dockerfileText: "FROM scratch\n", buildArgs: {}, target: undefined, ...extra });

  it("lists what Docker would send, sorted, without excluded files", async () => {
    const entries = await listContext(dir, new FileHashCache());
    expect(entries.map((entry) => entry.path)).toEqual([".dockerignore", "Dockerfile", "app.py"]);
  });

  it("takes the Dockerfile's own ignore file over the context's, as BuildKit does", async () => {
    await writeFile(join(dir, "Dockerfile.dockerignore"), "app.py\n");
    const entries = await listContext(dir, new FileHashCache(), join(dir, "Dockerfile"));
    // run.log is back (the context's .dockerignore no longer applies), app.py is out.
    expect(entries.map((entry) => entry.path)).toEqual([".dockerignore", ".venv/lib/big.so", "Dockerfile", "Dockerfile.dockerignore", "run.log"]);
    expect((await listContext(dir, new FileHashCache())).map((entry) => entry.path)).toContain("app.py");
  });

  it("is stable for the same content and changes with content, mode, links, args and target", async () => {
    const first = await digestOf();
    expect(await digestOf()).toBe(first);
    await writeFile(join(dir, "run.log"), "more noise"); // excluded: no change
    expect(await digestOf()).toBe(first);

    expect(await digestOf({ buildArgs: { A: "1" } })).not.toBe(first);
    expect(await digestOf({ target: "serve" })).not.toBe(first);
    expect(await digestOf({ dockerfileText: "FROM scratch\nUSER 1\n" })).not.toBe(first);

    await chmod(join(dir, "app.py"), 0o755);
    const executable = await digestOf();
    expect(executable).not.toBe(first);
    await symlink("app.py", join(dir, "current.py"));
    expect(await digestOf()).not.toBe(executable);
  });

  it("does not change when a file is saved with the same content", async () => {
    const first = await digestOf();
    await writeFile(join(dir, "app.py"), "print('hi')\n");
    expect(await digestOf()).toBe(first);
  });
});
