/**
 * The paths mlkube.yaml names (build context, Dockerfile, manifests, request bodies, recorded
 * requests, sync sources) must exist and stay inside the model directory: `build.context: ../../..` would
 * otherwise pack a whole disk and send it to the engine. Symlinks count by where they lead
 * (realpath). `allowPathsOutside: true` lets a project reach out on purpose; mlkube then warns.
 */
import { realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { Config } from "./schema.js";

/** One path as written in mlkube.yaml: where it is in the file, and what it must be. */
interface NamedPath {
  at: (string | number)[];
  written: string;
  kind: "directory" | "file" | "file or directory";
}

/** A problem or a warning about one path, with the YAML path to point at. */
export interface PathFinding {
  at: (string | number)[];
  text: string;
}

interface PathCheck {
  errors: PathFinding[];
  /** Paths outside the model directory that `allowPathsOutside: true` lets through. */
  outside: PathFinding[];
}

/**
 * Checks the paths the user wrote (`written` says which): the defaults (the directory itself, its
 * Dockerfile) are inside by definition, and a missing default Dockerfile is reported where it is read.
 */
export async function checkConfigPaths(config: Config, modelDir: string, written: (path: (string | number)[]) => boolean): Promise<PathCheck> {
  const realModelDir = await realpath(modelDir);
  const errors: PathFinding[] = [];
  const outside: PathFinding[] = [];
  for (const path of namedPaths(config).filter((candidate) => written(candidate.at))) {
    const absolute = resolve(modelDir, path.written);
    const found = await stat(absolute).catch(() => undefined);
    const shown = JSON.stringify(path.written);
    if (!found) {
      errors.push({ at: path.at, text: `${shown} does not exist (${absolute})` });
      continue;
    }
    if (path.kind === "directory" && !found.isDirectory()) errors.push({ at: path.at, text: `${shown} is a file; expected a directory` });
    if (path.kind === "file" && !found.isFile()) errors.push({ at: path.at, text: `${shown} is a directory; expected a file` });
    const real = await realpath(absolute);
    if (!isInside(realModelDir, real)) {
      const via = real === absolute ? "" : ` (through a symlink)`;
      const text = `${shown} resolves to ${real}${via}, outside the model directory ${realModelDir}`;
      (config.allowPathsOutside ? outside : errors).push({ at: path.at, text });
    }
  }
  return { errors, outside };
}

function namedPaths(config: Config): NamedPath[] {
  return [
    { at: ["build", "context"], written: config.build.context, kind: "directory" },
    { at: ["build", "dockerfile"], written: config.build.dockerfile, kind: "file" },
    ...config.manifests.map((manifest, index): NamedPath => ({ at: ["manifests", index], written: manifest, kind: "file or directory" })),
    ...config.tests.flatMap((test, index): NamedPath[] =>
      test.bodyFile === undefined ? [] : [{ at: ["tests", index, "bodyFile"], written: test.bodyFile, kind: "file" }],
    ),
    ...(config.requests === undefined ? [] : [{ at: ["requests"], written: config.requests, kind: "file" } satisfies NamedPath]),
    ...(Array.isArray(config.sync)
      ? config.sync.map((rule, index): NamedPath => ({ at: ["sync", index, "src"], written: fixedPart(rule.src), kind: "file or directory" }))
      : []),
  ];
}

/** The part of a sync source before its first wildcard segment: what must exist (`conf/*.yaml` -> `conf`). */
function fixedPart(src: string): string {
  const segments = src.split("/");
  const wildcard = segments.findIndex((segment) => /[*?[]/.test(segment));
  return wildcard < 0 ? src : segments.slice(0, wildcard).join("/") || ".";
}

function isInside(dir: string, path: string): boolean {
  const within = relative(dir, path);
  return within === "" || (within !== ".." && !within.startsWith(`..${sep}`) && !isAbsolute(within));
}
