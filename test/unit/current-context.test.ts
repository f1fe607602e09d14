import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keepingCurrentContext, restoreCurrentContext, snapshotCurrentContext } from "../../src/adapters/cluster/current-context.js";
import type { ClusterStep } from "../../src/adapters/cluster/provider.js";

/** A kubeconfig with these contexts, and `current` as its current-context. */
function kubeconfig(contexts: string[], current: string | undefined): string {
  return [
    "# the user's own file: comments and order must survive",
    "apiVersion: v1",
    "kind: Config",
    `clusters: [${contexts.map((name) => `{name: ${name}, cluster: {server: "https://127.0.0.1:1"}}`).join(", ")}]`,
    `contexts: [${contexts.map((name) => `{name: ${name}, context: {cluster: ${name}, user: ${name}}}`).join(", ")}]`,
    ...(current === undefined ? [] : [`current-context: ${current}`]),
    "users: []",
    "",
  ].join("\n");
}

let dir: string;
let file: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlkube-context-"));
  file = join(dir, "config");
  env = { KUBECONFIG: file };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("the user's current kube context", () => {
  it("is put back when a tool switched it to the new cluster, and mlkube says so", async () => {
    await writeFile(file, kubeconfig(["kind-mlkube"], "kind-mlkube"));
    const before = await snapshotCurrentContext(env);
    // What `minikube start -p ml` does: adds its context and makes it current.
    await writeFile(file, kubeconfig(["kind-mlkube", "ml"], "ml"));
    const step = await restoreCurrentContext(before, "ml", env);
    expect(step).toEqual({ title: "kube context", status: "skipped", detail: "kept your current context 'kind-mlkube' (mlkube uses 'ml' by name)" });
    const text = await readFile(file, "utf8");
    expect(text).toContain("current-context: kind-mlkube");
    expect(text).toContain("# the user's own file");
    expect(text).toMatch(/name: ml,/); // the tool's new entries stay
  });

  it("is left to the tool, and reported, when there was none", async () => {
    await writeFile(file, kubeconfig([], undefined));
    const before = await snapshotCurrentContext(env);
    await writeFile(file, kubeconfig(["kind-mlkube"], "kind-mlkube"));
    expect(await restoreCurrentContext(before, "kind-mlkube", env)).toEqual({
      title: "kube context",
      status: "done",
      detail: "your current context is now 'kind-mlkube' (you had none)",
    });
    expect(await readFile(file, "utf8")).toContain("current-context: kind-mlkube");
  });

  it("is reported gone when it named the deleted cluster, with the contexts left to pick from", async () => {
    await writeFile(file, kubeconfig(["kind-mlkube", "prod"], "kind-mlkube"));
    const before = await snapshotCurrentContext(env);
    // What `kind delete cluster` does: removes its entries and unsets current-context.
    await writeFile(file, kubeconfig(["prod"], ""));
    const step = await restoreCurrentContext(before, "kind-mlkube", env);
    expect(step?.detail).toBe(
      "your current context 'kind-mlkube' was removed with the cluster; none is current now. Pick one with 'kubectl config use-context NAME' (prod)",
    );
  });

  it("is restored after a delete that unset it although it still exists", async () => {
    await writeFile(file, kubeconfig(["prod", "ml"], "prod"));
    const steps: ClusterStep[] = [];
    await keepingCurrentContext(
      "ml",
      (step) => steps.push(step),
      async () => {
        await writeFile(file, kubeconfig(["prod"], ""));
      },
      env,
    );
    expect((await snapshotCurrentContext(env)).current).toBe("prod");
    expect(steps.map((step) => step.detail)).toEqual(["kept your current context 'prod' (mlkube uses 'ml' by name)"]);
  });

  it("says nothing when nothing changed", async () => {
    await writeFile(file, kubeconfig(["prod"], "prod"));
    const steps: ClusterStep[] = [];
    await keepingCurrentContext(
      "kind-mlkube",
      (step) => steps.push(step),
      async () => undefined,
      env,
    );
    expect(steps).toEqual([]);
  });

  it("restores each file of a $KUBECONFIG list to its own value", async () => {
    const second = join(dir, "second");
    await writeFile(file, kubeconfig([], undefined));
    await writeFile(second, kubeconfig(["prod"], "prod"));
    const list = { KUBECONFIG: [file, second].join(delimiter) };
    const before = await snapshotCurrentContext(list);
    expect(before.current).toBe("prod");
    // kind writes into the first existing file and sets current-context there, which then wins.
    await writeFile(file, kubeconfig(["kind-mlkube"], "kind-mlkube"));
    expect((await snapshotCurrentContext(list)).current).toBe("kind-mlkube");
    expect((await restoreCurrentContext(before, "kind-mlkube", list))?.status).toBe("skipped");
    expect((await snapshotCurrentContext(list)).current).toBe("prod");
    expect(await readFile(file, "utf8")).toContain('current-context: ""');
  });

  it("keeps the work's own failure when the work fails", async () => {
    await writeFile(file, kubeconfig(["prod"], "prod"));
    const failing = keepingCurrentContext(
      "kind-mlkube",
      () => undefined,
      async () => {
        await writeFile(file, kubeconfig(["prod", "kind-mlkube"], "kind-mlkube"));
        throw new Error("kind create failed");
      },
      env,
    );
    await expect(failing).rejects.toThrow("kind create failed");
    expect((await snapshotCurrentContext(env)).current).toBe("prod");
  });
});
