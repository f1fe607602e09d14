// The package root is found by name, not by depth: the same modules run from src/ and from dist/'s
// bundled chunks.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { findPackageRoot, PACKAGE_ROOT } from "../../src/package-root.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlkube-package-root-"));
  await writeFile(join(root, "package.json"), JSON.stringify({ name: "mlkube" }));
  // A package.json of another name on the way up (e.g. dist/package.json with "type": "module").
  await mkdir(join(root, "dist", "chunks"), { recursive: true });
  await writeFile(join(root, "dist", "package.json"), JSON.stringify({ type: "module" }));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it("is the repository itself when run from the sources", () => {
  expect(PACKAGE_ROOT).toBe(fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, ""));
});

it("walks up past directories whose package.json is another package's", () => {
  expect(findPackageRoot(join(root, "dist", "chunks"), "mlkube")).toBe(root);
  expect(findPackageRoot(root, "mlkube")).toBe(root);
});

it("fails when no package.json above has the name", () => {
  expect(() => findPackageRoot(join(root, "dist", "chunks"), "not-mlkube")).toThrow(/no package.json named "not-mlkube"/);
});
