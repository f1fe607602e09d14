import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assertNodePortsFree, chooseModelNodePort } from "../../src/adapters/cluster/model-node-port.js";
import { modelMemory } from "../../src/adapters/cluster/model-memory.js";
import { chooseNodePort, type NodePortClaim } from "../../src/core/node-port-choice.js";
import { UserError } from "../../src/errors.js";

const MAPPED = [30080, 30081, 30082, 30083, 30084];
const model = { namespace: "default", name: "b" };
const held = (port: number, service: string, modelName?: string): NodePortClaim => ({ port, namespace: "default", service, model: modelName });

describe("chooseNodePort", () => {
  it("uses a port written in mlkube.yaml as written", () => {
    expect(chooseNodePort({ model, configured: 30090, rememberedByOthers: [], mapped: MAPPED, claims: [held(30090, "a")] })).toEqual({
      port: 30090,
      reason: "service.nodePort in mlkube.yaml",
    });
  });

  it("takes the first mapped port no Service holds, and names the holders of the others", () => {
    const choice = chooseNodePort({ model, rememberedByOthers: [], mapped: MAPPED, claims: [held(30080, "a", "a")] });
    expect(choice.port).toBe(30081);
    expect(choice.reason).toBe("the first free port the cluster maps to 127.0.0.1 (30080: Service default/a (mlkube model a))");
  });

  it("keeps the model's remembered port while it is free, and its own Service's port", () => {
    expect(chooseNodePort({ model, remembered: 30083, rememberedByOthers: [], mapped: MAPPED, claims: [held(30083, "b", "b")] })).toEqual({
      port: 30083,
      reason: "this model's port in earlier sessions",
    });
    expect(chooseNodePort({ model, rememberedByOthers: [], mapped: MAPPED, claims: [held(30082, "b", "b")] }).port).toBe(30082);
  });

  it("moves a model whose remembered port another Service took, and says so", () => {
    const choice = chooseNodePort({ model, remembered: 30080, rememberedByOthers: [], mapped: MAPPED, claims: [held(30080, "a")] });
    expect(choice.port).toBe(30081);
    expect(choice.reason).toContain("its earlier port 30080 is now held by Service default/a");
  });

  it("leaves ports other model directories remember to them while others are free", () => {
    expect(chooseNodePort({ model, rememberedByOthers: [30080, 30081], mapped: MAPPED, claims: [] }).port).toBe(30082);
    expect(chooseNodePort({ model, rememberedByOthers: MAPPED, mapped: MAPPED, claims: [] }).port).toBe(30080);
  });

  it("goes past the mapped ports when all are held (reached through a port-forward)", () => {
    const choice = chooseNodePort({ model, rememberedByOthers: [], mapped: MAPPED, claims: MAPPED.map((port) => held(port, `s${port}`)) });
    expect(choice.port).toBe(30085);
    expect(choice.reason).toContain("through a port-forward");
  });

  it("uses mlkube's default ports where the cluster maps none", () => {
    expect(chooseNodePort({ model, rememberedByOthers: [], mapped: [], claims: [held(30080, "a")] }).port).toBe(30081);
  });
});

describe("the model's NodePort on a cluster", () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  const config = (dir: string, service: { nodePort: number; pinned?: boolean } = { nodePort: 30080 }) => ({ dir, name: "b", namespace: "default", service });

  it("remembers a chosen port per model directory, and keeps it in the next session", async () => {
    home = await mkdtemp(join(tmpdir(), "mlkube-ports-"));
    const memory = modelMemory(join(home, "models.json"));
    const first = await chooseModelNodePort({ config: config("/models/b"), claims: [held(30080, "a", "a")], mapped: MAPPED, memory });
    expect(first.port).toBe(30081);
    expect(JSON.parse(await readFile(join(home, "models.json"), "utf8"))).toEqual({ "/models/b": { nodePort: 30081 } });
    // Next session: model a is gone, but b keeps 30081; another directory gets 30080.
    expect((await chooseModelNodePort({ config: config("/models/b"), claims: [], mapped: MAPPED, memory })).port).toBe(30081);
    expect((await chooseModelNodePort({ config: { ...config("/models/c"), name: "c" }, claims: [], mapped: MAPPED, memory })).port).toBe(30080);
  });

  it("does not leave a port to a remembered directory that no longer exists", async () => {
    home = await mkdtemp(join(tmpdir(), "mlkube-ports-"));
    const memory = modelMemory(join(home, "models.json"));
    await memory.update(join(home, "gone"), { nodePort: 30080 });
    await memory.update(home, { nodePort: 30081 });
    expect((await chooseModelNodePort({ config: config(join(home, "new")), claims: [], mapped: MAPPED, memory })).port).toBe(30080);
  });

  it("does not remember a port written in mlkube.yaml, and reads past a damaged record", async () => {
    home = await mkdtemp(join(tmpdir(), "mlkube-ports-"));
    const file = join(home, "models.json");
    await writeFile(file, "{not json");
    const memory = modelMemory(file);
    expect((await chooseModelNodePort({ config: config("/models/b", { nodePort: 30084, pinned: true }), claims: [], mapped: MAPPED, memory })).port).toBe(
      30084,
    );
    expect(await memory.read()).toEqual({});
    await memory.update("/models/b", { nodePort: 30082 });
    expect(await memory.read()).toEqual({ "/models/b": { nodePort: 30082 } });
    expect(await readFile(`${file}.damaged`, "utf8")).toBe("{not json");
  });

  it("refuses a NodePort another Service holds, naming it and the way out", () => {
    const claims = [held(30080, "a", "a"), held(30081, "x")];
    const input = { config: config("/models/b", { nodePort: 30080, pinned: true }), claims, mapped: MAPPED };
    expect(() => assertNodePortsFree([{ port: 30080, namespace: "default", service: "b" }], input)).toThrow(UserError);
    try {
      assertNodePortsFree([{ port: 30080, namespace: "default", service: "b" }], input);
    } catch (error) {
      expect((error as UserError).message).toBe(
        'NodePort 30080 of Service default/b is already taken by Service default/a (mlkube model a); the cluster would refuse it ("provided port is already allocated"). Nothing was applied.',
      );
      expect((error as UserError).hint).toBe(
        "Remove service.nodePort from mlkube.yaml so mlkube picks a free port (free now: 30082, 30083, 30084), or set it to a free one; or, if default/a is no longer needed, delete it: 'kubectl delete deployment,service -n default -l mlkube.dev/model=a'.",
      );
    }
    // Its own Service holding the port is no conflict.
    expect(() => assertNodePortsFree([{ port: 30080, namespace: "default", service: "a" }], input)).not.toThrow();
  });
});
