// esbuild plugins for the bundle (scripts/bundle.mjs), all for issue #15 (a log flood's cost). The
// first two edit Ink 6.8's own files; remove them once mlkube requires Node.js 22 and Ink 8, or
// check them again when Ink changes (a text they edit that is missing fails the build).
//
// boundedInkCaches: Ink keeps two module-level caches of every text it ever measured or wrapped,
// never evicted (measure-text.js, wrap-text.js; Ink issue #986). A log pane shows a new string for
// every line, so a day of logs grew mlkube's memory without bound (issue #15's soak). Ink 8 bounds
// them; here a cache that reaches MAX_ENTRIES starts over (a frame measures each text a few times,
// so the next frame refills what it needs). The wrap cache's key also gets separators: Ink builds
// it as text + width + wrap type, so "ab" at 12 columns and "ab1" at 2 shared one entry (Ink pull
// request #998).
//
// cheapInkFrames: Ink draws every frame into a grid of styled characters and turns each row back
// into a string (output.js). Profiled under a log flood, that was 35 of the 40 MB/s mlkube
// allocated and most of a frame's time; early in a session, while V8's young generation is still
// small, the garbage of a frame outlived it and grew the old generation (the session's peak RSS).
// - The blank grid: two new objects per cell (4,800 cells at 120x40). Cells are only ever replaced,
//   never changed, so every blank is one frozen cell.
// - Rows of characters and rows back to strings go through src/ui/dev/styled-row.ts: a row's
//   characters are remembered across frames (most rows are the last frame's), and neighbours of
//   one style are not diffed.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const MAX_ENTRIES = 4096;
const STYLED_ROW = `${fileURLToPath(new URL("..", import.meta.url))}src/ui/dev/styled-row.ts`;

/** Each edit: the text Ink 6.8 has, and what replaces it. */
const EDITS = {
  "measure-text.js": [["cache.set(text, dimensions);", `if (cache.size >= ${MAX_ENTRIES}) cache.clear();\n    cache.set(text, dimensions);`]],
  "wrap-text.js": [
    ["const cache = {};", "let cache = {};\nlet cacheSize = 0;"],
    ["const cacheKey = text + String(maxWidth) + String(wrapType);", "const cacheKey = `${maxWidth}\\u0000${wrapType}\\u0000${text}`;"],
    [
      "cache[cacheKey] = wrappedText;",
      `if (++cacheSize > ${MAX_ENTRIES}) {\n        cache = {};\n        cacheSize = 1;\n    }\n    cache[cacheKey] = wrappedText;`,
    ],
  ],
  "output.js": [
    [
      "import { styledCharsFromTokens, styledCharsToString, tokenize, } from '@alcalzone/ansi-tokenize';",
      `import { styledCharsToString, styledLine } from ${JSON.stringify(STYLED_ROW)};\nconst blankCell = Object.freeze({ type: 'char', value: ' ', fullWidth: false, styles: Object.freeze([]) });`,
    ],
    ["cached = styledCharsFromTokens(tokenize(line));", "cached = styledLine(line);"],
    [
      "row.push({\n                    type: 'char',\n                    value: ' ',\n                    fullWidth: false,\n                    styles: [],\n                });",
      "row.push(blankCell);",
    ],
  ],
};

/** The edited source of one of Ink's files. Throws when Ink's text is not there (another Ink version: check whether it still needs this). */
export function editInk(source, file) {
  let edited = source;
  for (const [from, to] of EDITS[file] ?? []) {
    if (!edited.includes(from)) throw new Error(`ink-edits: "${from}" is not in ink/build/${file}; Ink changed, see scripts/bundle-plugins.mjs`);
    edited = edited.replace(from, to);
  }
  return edited;
}

/** A plugin that edits these files of Ink's as they are loaded. */
function editingInk(name, files) {
  const filter = new RegExp(`[\\\\/]ink[\\\\/]build[\\\\/](${files.join("|")})\\.js$`);
  return {
    name,
    setup(build) {
      build.onLoad({ filter }, async (args) => ({ contents: editInk(await readFile(args.path, "utf8"), args.path.split(/[\\/]/).pop()), loader: "js" }));
    },
  };
}

export const boundedInkCaches = editingInk("ink-bounded-caches", ["measure-text", "wrap-text"]);
export const cheapInkFrames = editingInk("cheap-ink-frames", ["output"]);

/**
 * Every import of string-width in the bundle (Ink's, widest-line's, cli-truncate's) goes to
 * src/ui/dev/string-width-memo.ts, which remembers widths across frames; only that module itself
 * reaches the real one. Same version: the bundle has one string-width 8 (wrap-ansi keeps its own 7).
 */
export const rememberedStringWidth = {
  name: "remembered-string-width",
  setup(plugin) {
    const memo = `${fileURLToPath(new URL("..", import.meta.url))}src/ui/dev/string-width-memo.ts`;
    plugin.onResolve({ filter: /^string-width$/ }, (args) => {
      if (args.importer === memo || args.importer.includes("/node_modules/wrap-ansi/")) return undefined;
      return { path: memo };
    });
  },
};
