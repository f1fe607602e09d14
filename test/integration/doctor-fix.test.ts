// `mlkube doctor --fix` starting the local registry on the real engine, under a name and port of
// its own so it never touches a registry someone else runs. registry:2 cannot be pulled here: the
// test runs where the simulator's set-up has built it, and is skipped elsewhere.
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { applyFixes } from "../../src/adapters/doctor/fixes.js";
import { checkRegistry } from "../../src/adapters/doctor/registry.js";
import { runCommand } from "../../src/adapters/exec.js";
import { docker, engineAvailable, uniqueName } from "../support/engine.js";

const REGISTRY_IMAGE = "registry:2";
const hasEngine = await engineAvailable();
const hasRegistryImage =
  hasEngine &&
  (await docker
    .getImage(REGISTRY_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    ));
// CI runs the whole suite, whose e2e set-up (the simulator) builds registry:2 first: a skip there
// would hide that this test never ran.
if (!hasRegistryImage && process.env.CI)
  throw new Error(`CI=true but ${REGISTRY_IMAGE} is missing: 'npm test' builds it in the e2e set-up (test/sim/images.ts).`);

describe.runIf(hasRegistryImage)("doctor --fix on the real engine", () => {
  const registry = { container: uniqueName("mlkube-test-registry"), hostPort: 0, image: REGISTRY_IMAGE };
  afterAll(async () => {
    await docker
      .getContainer(registry.container)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("starts a registry that was not running, after which the registry check passes", async () => {
    registry.hostPort = await freePort();
    expect(await checkRegistry(docker, registry, "auto")).toMatchObject({ status: "warn", autoFix: "start-registry" });
    const deps = { env: {}, platform: process.platform, exec: runCommand, cwd: process.cwd(), binDir: "/nonexistent", registry, settings: undefined };
    const outcomes = await applyFixes([{ name: "registry", status: "warn", detail: "not running", autoFix: "start-registry" }], deps);
    expect(outcomes).toEqual([{ check: "registry", ok: true, message: `started ${registry.container} on 127.0.0.1:${registry.hostPort}` }]);
    await expect.poll(async () => (await checkRegistry(docker, registry, "auto")).status, { timeout: 15_000, interval: 300 }).toBe("ok");
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
