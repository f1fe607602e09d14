/**
 * Issue 17, point 4, on a kind cluster that exists: the kubeconfig gone (KUBECONFIG pointing at a
 * file that does not exist) or its context pointing at a server that refuses connections. The
 * commands that read the cluster must name the fault and the fix (exit 1), never report a bug;
 * `up` restores the missing context with `kind export kubeconfig`, as it does for a lost context.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { uniqueName } from "../support/engine.js";
import { mlkube, PROVIDER } from "./support/cluster.js";
import { modelDir, type ModelDir } from "./support/model-dir.js";
import { closedPort } from "../support/closed-port.js";

const NAME = uniqueName("e2e-faults").slice(0, 30);
const CONTEXT = `kind-${NAME}`;
const describeKind = describe.runIf(PROVIDER === "kind");

function expectNamedFault(result: Awaited<ReturnType<typeof mlkube>>, message: string): void {
  const output = result.stdout + result.stderr;
  expect(output).not.toMatch(/internal error| {4}at /);
  expect(result.code, output).toBe(1);
  expect(output).toContain(message);
}

describeKind("a kind cluster whose kubeconfig is gone or points at a dead server", () => {
  let model: ModelDir;
  let work: string;
  let deadPort: number;

  beforeAll(async () => {
    model = await modelDir(NAME);
    const up = await mlkube(["up", model.dir]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    work = await mkdtemp(join(tmpdir(), "mlkube-e2e-faults-"));
    // The same kubeconfig, but the cluster's server is a port where nothing listens.
    deadPort = await closedPort();
    // The simulator and CI set KUBECONFIG; against a contributor's own kind it is often unset.
    const kubeconfigPath = process.env.KUBECONFIG ?? join(homedir(), ".kube", "config");
    const kubeconfig = parse(await readFile(kubeconfigPath, "utf8")) as { clusters: { name: string; cluster: { server: string } }[] };
    const cluster = kubeconfig.clusters.find((candidate) => candidate.name === CONTEXT);
    if (!cluster) throw new Error(`no cluster ${CONTEXT} in ${kubeconfigPath}`);
    cluster.cluster.server = `https://127.0.0.1:${deadPort}`;
    await writeFile(join(work, "dead.kubeconfig"), stringify(kubeconfig));
  });

  afterAll(async () => {
    await mlkube(["down", "--yes", model.dir]);
    await model.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.each(["status", "test", "logs"])("mlkube %s names the missing kubeconfig", async (command) => {
    const missing = join(work, "gone", "config");
    const result = await mlkube([command, model.dir], { env: { KUBECONFIG: missing }, timeoutMs: 60_000 });
    expectNamedFault(result, `error: The kubeconfig ${missing} (from KUBECONFIG) does not exist.\nfix: Create a local cluster with 'mlkube up'`);
  });

  it.each(["status", "test", "logs", "dev"])("mlkube %s names the server that refuses connections", async (command) => {
    const args = command === "dev" ? ["dev", model.dir, "--once", "--no-tui"] : [command, model.dir];
    const result = await mlkube(args, { env: { KUBECONFIG: join(work, "dead.kubeconfig") }, timeoutMs: 60_000 });
    expectNamedFault(
      result,
      `The cluster at https://127.0.0.1:${deadPort} (context ${CONTEXT}) cannot be reached: nothing listens there (connection refused).`,
    );
  });

  it("mlkube up restores the context into a missing kubeconfig", async () => {
    const restored = join(work, "restored", "config");
    const result = await mlkube(["up", model.dir], { env: { KUBECONFIG: restored }, timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toContain(`kube context ${CONTEXT}: restored with 'kind export kubeconfig'`);
    expect(existsSync(restored)).toBe(true);
  });
});
