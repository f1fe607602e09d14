/**
 * mlkube's record of the clusters it created decides what `mlkube down` may delete. A damaged
 * record (cut short, edited by hand) made down refuse a cluster mlkube had made, and the next
 * create overwrote every other entry (issue 14).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createdClusters } from "../../src/adapters/cluster/created-clusters.js";

describe("the record of the clusters mlkube created", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-record-"));
    file = join(dir, "created-clusters.json");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("records, finds and forgets a cluster; a missing file is an empty record", async () => {
    const record = createdClusters(file);
    expect(await record.lookup("kind", "mlkube")).toEqual({ listed: false, file, damage: undefined });
    await record.add("kind", "mlkube");
    expect((await record.lookup("kind", "mlkube")).listed).toBe(true);
    await record.remove("kind", "mlkube");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual([]);
  });

  it("a record cut short still lists the clusters that can be read in it", async () => {
    await writeFile(file, '[\n  "kind/mlkube",\n  "minikube/demo"');
    expect(await createdClusters(file).lookup("kind", "mlkube")).toMatchObject({ listed: true, damage: expect.stringContaining("not valid JSON") });
    expect((await createdClusters(file).lookup("minikube", "demo")).listed).toBe(true);
  });

  it("a damaged record that does not list the cluster says so, for down to decide", async () => {
    await writeFile(file, "[ this is not json");
    expect(await createdClusters(file).lookup("kind", "other")).toEqual({ listed: false, file, damage: expect.stringContaining("not valid JSON") });
  });

  it("adding to a damaged record keeps what could be read and the damaged text beside it", async () => {
    await writeFile(file, '["kind/mlkube", "minikube/demo",, ]');
    await createdClusters(file).add("kind", "second");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(["kind/mlkube", "kind/second", "minikube/demo"]);
    expect(await readFile(`${file}.damaged`, "utf8")).toBe('["kind/mlkube", "minikube/demo",, ]');
  });
});
