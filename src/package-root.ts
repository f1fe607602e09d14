/**
 * Where mlkube's own files are: the directory of its package.json, next to schema/ and templates/.
 * Found by walking up rather than by a fixed `../..`, because the same code runs at different
 * depths: from src/ (vitest, tsx) and from dist/'s bundled chunks.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest directory at or above `start` holding a package.json named `name`. */
export function findPackageRoot(start: string, name: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (packageName(join(dir, "package.json")) === name) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json named "${name}" in ${start} or above`);
  }
}

function packageName(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)), "mlkube");
