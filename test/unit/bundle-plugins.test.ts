import { build } from "esbuild";
import { existsSync, realpathSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import stringWidth from "string-width";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/engine.js";
// @ts-expect-error: a build script in JavaScript, without types
import { boundedInkCaches, cheapInkFrames, editInk, rememberedStringWidth } from "../../scripts/bundle-plugins.mjs";
import rememberedWidth from "../../src/ui/dev/string-width-memo.js";
import { Chalk } from "chalk";
import * as ansiTokenize from "@alcalzone/ansi-tokenize";
import { styledCharsFromTokens, styledCharsToString, styledLine } from "../../src/ui/dev/styled-row.js";

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
    expect(() => editInk("const cache = new WeakMap();", "measure-text.js")).toThrow(/Ink changed/);
    expect(() => editInk("export default class Output {}", "output.js")).toThrow(/Ink changed/);
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

describe("rows of Ink's screen as strings", () => {
  const chalk = new Chalk({ level: 3 });
  const link = (url: string, text: string) => `\u001b]8;;${url}\u0007${text}\u001b]8;;\u0007`;
  const rows = [
    "",
    "plain text, no style at all",
    `${chalk.green("✓")} build 1.2s ${chalk.dim("·")} deliver 0.3s ${chalk.red.bold("✗ rollout")}`,
    `${chalk.bold.dim("bold and dim")} ${chalk.bold("bold")}${chalk.dim("dim")} end`,
    `${chalk.bgBlue.white(" header ")}${chalk.bgBlue(" same background ")} ${chalk.inverse("inverse")}`,
    `${chalk.hex("#ff8800")("orange")} ${chalk.ansi256(33)("blue")} ${chalk.underline.italic("both")}${chalk.strikethrough("!")}`,
    `模型 ${chalk.cyan("ready")} 🕹 ${link("http://127.0.0.1:30080", chalk.blue("http://127.0.0.1:30080"))} tail`,
    `${chalk.red("red to the end")}`,
    `${chalk.yellow("a")}${chalk.yellow("b")}${chalk.green("c")}`,
  ];

  /** A row as Ink builds it: the text's styled characters, then blank cells to the screen's width. */
  function cells(
    row: string,
    width: number,
    fromTokens: (tokens: ansiTokenize.Token[]) => ansiTokenize.StyledChar[] = styledCharsFromTokens,
  ): ansiTokenize.StyledChar[] {
    const chars = fromTokens(ansiTokenize.tokenize(row));
    const blanks = Array.from({ length: Math.max(0, width - chars.length) }, () => ({ type: "char" as const, value: " ", fullWidth: false, styles: [] }));
    return [...blanks.slice(0, 2), ...chars, ...blanks.slice(2)];
  }

  it("gives what ansi-tokenize's own functions give, for every style change, link and wide character", () => {
    for (const row of rows) {
      expect(styledCharsFromTokens(ansiTokenize.tokenize(row)), JSON.stringify(row)).toEqual(ansiTokenize.styledCharsFromTokens(ansiTokenize.tokenize(row)));
      for (const width of [0, 20, 120]) {
        const expected = ansiTokenize.styledCharsToString(cells(row, width, ansiTokenize.styledCharsFromTokens));
        expect(styledCharsToString(cells(row, width)), JSON.stringify(row)).toBe(expected);
      }
    }
  });

  it("gives the same for rows pasted together from others, as Ink overwrites cells", () => {
    const chars = cells(rows[2]!, 120);
    chars.splice(10, 15, ...cells(rows[5]!, 0).slice(0, 15));
    chars.splice(60, 10, ...cells(rows[6]!, 0).slice(0, 10));
    expect(styledCharsToString(chars)).toBe(ansiTokenize.styledCharsToString(chars));
  });

  it("leaves Ink's screen as Ink draws it: the bundle's output.js against Ink's own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlkube-output-"));
    try {
      const entry = join(dir, "entry.js");
      await writeFile(entry, `export { default as Output } from "${REPO_ROOT}/node_modules/ink/build/output.js";\n`);
      const out = join(dir, "out.mjs");
      await build({
        entryPoints: [entry],
        outfile: out,
        bundle: true,
        format: "esm",
        platform: "node",
        plugins: [cheapInkFrames],
        logLevel: "silent",
      });
      type Screen = {
        write(x: number, y: number, text: string, options: { transformers: unknown[] }): void;
        clip(clip: object): void;
        unclip(): void;
        get(): { output: string; height: number };
      };
      type ScreenClass = new (size: { width: number; height: number }) => Screen;
      const bundled = ((await import(pathToFileURL(out).href)) as { Output: ScreenClass }).Output;
      const original = ((await import(pathToFileURL(join(REPO_ROOT, "node_modules/ink/build/output.js")).href)) as { default: ScreenClass }).default;
      const draw = (Screen: ScreenClass) => {
        const screen = new Screen({ width: 40, height: 6 });
        screen.write(0, 0, rows[2]!, { transformers: [] });
        screen.write(2, 1, `${rows[6]!}\n${rows[3]!}`, { transformers: [] });
        screen.clip({ x1: 5, x2: 20, y1: 3, y2: 5 });
        screen.write(0, 3, `${rows[4]!}\n${rows[5]!}`, { transformers: [] });
        screen.unclip();
        screen.write(30, 5, chalk.red("edge of the screen, cut"), { transformers: [] });
        return screen.get();
      };
      const bundle = await readFile(out, "utf8");
      expect(bundle).toContain("row.push(blankCell)"); // the edited output.js, drawing through styled-row.ts
      expect(bundle).toContain("styledLine(line)");
      const drawn = draw(bundled);
      expect(drawn).toEqual(draw(original));
      expect(drawn.output).toContain("build");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("remembers a row's characters once it was drawn in two frames, for a bounded number of rows", () => {
    const row = rows[2]!;
    const once = styledLine(row);
    expect(once).toEqual(ansiTokenize.styledCharsFromTokens(ansiTokenize.tokenize(row)));
    const twice = styledLine(row);
    expect(twice).not.toBe(once); // a row drawn once is not kept: a flood's rows would fill the heap
    expect(twice).toEqual(once);
    expect(styledLine(row)).toBe(twice); // drawn twice: the next frame finds it
    for (let line = 0; line < 1_000; line++) styledLine(`flood line ${line}`);
    const again = styledLine(row);
    expect(again).not.toBe(twice); // forgotten after a flood of new rows
    expect(again).toEqual(once);
  });
});
