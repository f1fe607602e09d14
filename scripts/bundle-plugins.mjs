// esbuild plugins for the bundle (scripts/bundle.mjs), both for issue #15 (a log flood's cost).
//
// boundedInkCaches: Ink 6.8 keeps two module-level caches of
// every text it ever measured or wrapped, never evicted (measure-text.js, wrap-text.js; Ink issue
// #986). A log pane shows a new string for every line, so a day of logs grew mlkube's memory
// without bound (issue #15's soak). Ink 8 bounds them, but needs Node.js 22; until mlkube requires
// that, the bundle bounds them itself: a cache that reaches MAX_ENTRIES starts over (a frame
// measures each text a few times, so the next frame refills what it needs). The wrap cache's key
// also gets separators: Ink builds it as text + width + wrap type, so "ab" at 12 columns and "ab1"
// at 2 shared one entry (Ink pull request #998).
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const MAX_ENTRIES = 4096;

/** Each edit: the text Ink 6.8 has, and what replaces it. A missing text fails the build. */
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
};

/** The edited source of one of Ink's files. Throws when Ink's text is not there (another Ink version: check whether it still needs this). */
export function boundInkCaches(source, file) {
  let edited = source;
  for (const [from, to] of EDITS[file] ?? []) {
    if (!edited.includes(from)) throw new Error(`ink-bounded-caches: "${from}" is not in ink/build/${file}; Ink changed, see scripts/ink-bounded-caches.mjs`);
    edited = edited.replace(from, to);
  }
  return edited;
}

export const boundedInkCaches = {
  name: "ink-bounded-caches",
  setup(build) {
    build.onLoad({ filter: /[\\/]ink[\\/]build[\\/](measure-text|wrap-text)\.js$/ }, async (args) => {
      const file = args.path.split(/[\\/]/).pop();
      return { contents: boundInkCaches(await readFile(args.path, "utf8"), file), loader: "js" };
    });
  },
};

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
