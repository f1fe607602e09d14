// YAML output and the image reference render uses when none is given.
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { contentReference } from "../../src/adapters/docker/content-tag.js";
import { loadConfig } from "../../src/config/load.js";
import { imageName, repositoryOf, sameRepository } from "../../src/manifests/image-ref.js";
import { renderYaml } from "../../src/manifests/render.js";

const fixture = fileURLToPath(new URL("../../fixtures/iris-sklearn", import.meta.url));
const temporaryDirs: string[] = [];

afterAll(async () => {
  await Promise.all(temporaryDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("renderYaml", () => {
  it("writes one document per object, apiVersion, kind, metadata and spec first", () => {
    const text = renderYaml([
      { spec: { b: 1, a: 2 }, data: { x: "y" }, metadata: { labels: { a: "b" }, name: "one", namespace: "default" }, kind: "ConfigMap", apiVersion: "v1" },
      { apiVersion: "v1", kind: "Service", metadata: { name: "two" } },
    ]);
    const documents = parseAllDocuments(text);
    expect(Array.isArray(documents) && documents.length).toBe(2);
    expect(text.split("---\n")[0]).toBe(
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: default\n  labels:\n    a: b\nspec:\n  b: 1\n  a: 2\ndata:\n  x: y\n",
    );
  });

  it("never folds long strings", () => {
    const long = "x".repeat(200);
    expect(renderYaml([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { long } }])).toContain(`long: ${long}\n`);
  });
});

describe("image references", () => {
  it.each([
    ["iris-sklearn:1", "iris-sklearn"],
    ["registry.example.com/ml/iris-sklearn:1.4.2", "registry.example.com/ml/iris-sklearn"],
    ["localhost:5001/iris", "localhost:5001/iris"],
    ["localhost:5001/iris:abc@sha256:0123", "localhost:5001/iris"],
  ])("%s has repository %s", (reference, repository) => {
    expect(repositoryOf(reference)).toBe(repository);
  });

  it("compares Docker Hub names with and without their implicit prefix", () => {
    expect(sameRepository("python", "docker.io/library/python")).toBe(true);
    expect(sameRepository("team/model", "index.docker.io/team/model")).toBe(true);
    expect(sameRepository("localhost:5001/iris", "iris")).toBe(false);
    expect(imageName("registry.example.com/ml/iris-sklearn")).toBe("iris-sklearn");
  });
});

describe("contentReference", () => {
  async function copyOfFixture(): Promise<string> {
    const parent = await mkdtemp(join(tmpdir(), "mlkube-tag-"));
    temporaryDirs.push(parent);
    const dir = join(parent, "iris-sklearn");
    await cp(fixture, dir, { recursive: true });
    return dir;
  }

  it("is the repository and a 16-digit content tag, stable while nothing changes", async () => {
    const dir = await copyOfFixture();
    const first = await contentReference(await loadConfig(dir));
    expect(first).toMatch(/^iris-sklearn:[0-9a-f]{16}$/);
    expect(await contentReference(await loadConfig(dir))).toBe(first);
  });

  it("changes with a file in the context and with a build argument, not with an ignored file", async () => {
    const dir = await copyOfFixture();
    const before = await contentReference(await loadConfig(dir));
    await writeFile(join(dir, "notes.md"), "ignored by .dockerignore\n");
    expect(await contentReference(await loadConfig(dir))).toBe(before);
    expect(await contentReference(await loadConfig(dir, { buildArgs: { BASE_IMAGE: "python:3.12-slim" } }))).not.toBe(before);
    await writeFile(join(dir, "app.py"), "# changed\n", { flag: "a" });
    expect(await contentReference(await loadConfig(dir))).not.toBe(before);
  });
});
