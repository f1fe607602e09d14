// Docker's port proxy accepts a connection to a published port before the server in the container
// listens, and holds it without an answer. Measured here: a fetch on such a connection does not
// even keep Node running, so without a timer of its own the CLI exited with code 13 ("unsettled
// top-level await") and no message. `mlkube test` must time the request out and say so.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPublished, type RunningModel } from "../support/containers.js";
import { BASE_IMAGE, REPO_ROOT, engineAvailable } from "../support/engine.js";

const run = promisify(execFile);
const hasEngine = await engineAvailable();

describe.runIf(hasEngine)("a published port whose server is not up", () => {
  let container: RunningModel;
  let dir: string;
  beforeAll(async () => {
    container = await runPublished(BASE_IMAGE, 8080, ["sleep", "120"]);
    dir = await mkdtemp(join(tmpdir(), "mlkube-held-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\nEXPOSE 8080\n");
    await writeFile(join(dir, "mlkube.yaml"), "tests:\n  - path: /\n    expect: { latencyMs: 250 }\n");
  });
  afterAll(async () => {
    await container?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("makes `mlkube test` time the request out and report the model unreachable", async () => {
    const failed = await run(process.execPath, [join(REPO_ROOT, "dist/cli.js"), "test", dir, "--url", container.url]).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.stderr).toMatch(
      new RegExp(`^error: The model at ${container.url} does not answer: (no answer within 500 ms|the connection was closed without an answer)\\.$`, "m"),
    );
    expect(failed.code).toBe(1);
  });
});
