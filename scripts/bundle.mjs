// Bundles src/ into dist/ with esbuild (run by `npm run build`, after tsc type-checks): Node loads
// a few large files in far less memory and time than the thousands of small modules of
// @kubernetes/client-node and the rest (issue #15: the dev command's peak RSS).
import { build } from "esbuild";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { boundedInkCaches, cheapInkFrames, rememberedStringWidth } from "./bundle-plugins.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
await rm(`${root}/dist`, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  // cli.ts, plus the modules that scripts import from dist by path: write-schema.mjs
  // (config/json-schema.js) and the e2e workflow (adapters/tools/kind-release.js).
  entryPoints: ["src/cli.ts", "src/config/json-schema.ts", "src/adapters/tools/kind-release.ts"],
  outbase: "src",
  outdir: "dist",
  // Splitting keeps each command's `await import(...)` a chunk of its own, so `mlkube --help`
  // loads none of them. The chunks sit in dist/ itself: with DEV=true, Ink reads
  // `../package.json` relative to its own file, which from dist/ is mlkube's (from a deeper
  // folder, none, and the dev command would crash).
  splitting: true,
  chunkNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Bundled CommonJS dependencies call `require`, which ES modules lack: give every output file a
  // real one. Aliased so it cannot clash with a bundled module's own `createRequire` import.
  banner: { js: 'import { createRequire as __mlkubeCreateRequire } from "node:module"; const require = __mlkubeCreateRequire(import.meta.url);' },
  // Left to node_modules, resolved at run time.
  external: [
    // docker-modem's ssh:// transport: ssh2 loads its compiled crypto (and, through the optional
    // cpu-features, another addon) by paths relative to its own files, which a bundle would break.
    "ssh2",
    // ws's optional native speed-ups, required inside a try block: used when installed.
    "bufferutil",
    "utf-8-validate",
    // Ink's optional peer, imported only when DEV=true (React DevTools).
    "react-devtools-core",
  ],
  // whatwg-url (under client-node's node-fetch) requires Node's `punycode`, which prints a
  // deprecation warning (DEP0040) from Node 21 on, over the dev UI's first line: the package of the
  // same name and API is bundled instead (the trailing slash names the package, not the built-in).
  alias: { punycode: "punycode/" },
  // Not handled: CommonJS code that reads files beside its own through __dirname, undefined in an
  // ES module. Only dockerode's BuildKit session and progress decoder (buildImage with version
  // "2", docker.followProgress) and grpc-js's channelz do; mlkube uses none of them.
  // Ink's text caches bounded, its frames drawn with less garbage, text widths remembered (see the plugins).
  plugins: [boundedInkCaches, cheapInkFrames, rememberedStringWidth],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
