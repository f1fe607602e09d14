import { build } from "esbuild";
import { existsSync, realpathSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import stringWidth from "string-width";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/engine.js";
// @ts-expect-error: a build script in JavaScript, without types
import { boundedInkCaches, boundInkCaches, rememberedStringWidth } from "../../scripts/bundle-plugins.mjs";
import rememberedWidth from "../../src/ui/dev/string-width-memo.js";

type MeasureText = (text: string) => { width: number; height: number };
type WrapText = (text: string, maxWidth: number, wrapType: string) => string;

/** Ink's two text modules as the bundle has them (scripts/bundle.mjs's plugin). */
async function bundledInkText(dir: string): Promise<{ measureText: MeasureText; wrapText: WrapText }> {
  const inkBuild = join(REPO_ROOT, "node_modules/ink/build");
  const entry = join(dir, "entry.js");
  await writeFile(
    entry,
    `export { default as measureText } from "${inkBuild}/measure-text.js";\nexport { default as wrapText } from "${inkBuild}/wrap-text.js";\n`,
  );
  const out = join(dir, "out.mjs");
  await build({ entryPoints: [entry], outfile: out, bundle: true, format: "esm", platform: "node", plugins: [boundedInkCaches], logLevel: "silent" });
  return (await import(pathToFileURL(out).href)) as { measureText: MeasureText; wrapText: WrapText };
}

describe("Ink's text caches in the bundle", () => {
  let dir: string;
  let ink: { measureText: MeasureText; wrapText: WrapText };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-ink-caches-"));
    ink = await bundledInkText(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("forgets old texts once many new ones were measured: a log pane's lines do not stay in memory", () => {
    const first = ink.measureText("GET /healthz 200");
    expect(ink.measureText("GET /healthz 200")).toBe(first); // still cached: the same object
    for (let line = 0; line < 5_000; line++) ink.measureText(`flood line ${line}`);
    const again = ink.measureText("GET /healthz 200");
    expect(again).not.toBe(first); // Ink 6.8 as published keeps it (and every line) for ever
    expect(again).toEqual({ width: 16, height: 1 });
  });

  it("wraps two texts whose text, width and wrap type run together alike each on its own", () => {
    expect(ink.wrapText("ab", 12, "wrap")).toBe("ab");
    expect(ink.wrapText("ab1", 2, "wrap")).toBe("ab\n1"); // Ink 6.8 as published answers "ab"
  });

  it("fails the build when Ink's files are not the ones it edits", () => {
    expect(() => boundInkCaches("const cache = new WeakMap();", "measure-text.js")).toThrow(/Ink changed/);
  });
});

describe("text widths in the bundle", () => {
  it("sends Ink's and its helpers' string-width to the remembering one, and wrap-ansi's older version to its own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlkube-widths-"));
    try {
      const entry = join(dir, "entry.js");
      await writeFile(entry, `import "${REPO_ROOT}/node_modules/ink/build/index.js";\n`);
      const result = await build({
        entryPoints: [entry],
        outfile: join(dir, "out.mjs"),
        bundle: true,
        format: "esm",
        platform: "node",
        write: false,
        metafile: true,
        plugins: [rememberedStringWidth],
        external: ["react-devtools-core"],
        logLevel: "silent",
      });
      // esbuild names inputs relative to the working directory, through any symlink (a worktree's
      // node_modules): compare real paths.
      const real = (path: string) => (existsSync(resolve(path)) ? realpathSync(resolve(path)) : path);
      const importersOf = (path: string) =>
        Object.entries(result.metafile.inputs)
          .filter(([, input]) => input.imports.some((imported) => real(imported.path) === real(join(REPO_ROOT, path))))
          .map(([file]) => file);
      expect(importersOf("src/ui/dev/string-width-memo.ts")).toEqual(
        expect.arrayContaining([
          expect.stringContaining("node_modules/widest-line/"),
          expect.stringContaining("node_modules/ink/build/output.js"),
          expect.stringContaining("node_modules/cli-truncate/"),
        ]),
      );
      expect(importersOf("node_modules/string-width/index.js")).toEqual([expect.stringContaining("src/ui/dev/string-width-memo.ts")]);
      expect(importersOf("node_modules/wrap-ansi/node_modules/string-width/index.js")).toEqual([expect.stringContaining("node_modules/wrap-ansi/")]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("measures as string-width does, wide characters and colour codes included", () => {
    for (const text of ["plain", "模型 ready", "\u001b[31mred\u001b[39m ✓", "🕹 x", ""]) expect(rememberedWidth(text)).toBe(stringWidth(text));
    expect(rememberedWidth("·", { ambiguousIsNarrow: false })).toBe(2);
    expect(rememberedWidth("·")).toBe(1);
  });
});
