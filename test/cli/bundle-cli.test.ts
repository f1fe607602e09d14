// What bundling dist/cli.js could break and the other suites would not notice.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../support/engine.js";

const CLI = join(REPO_ROOT, "dist", "cli.js");

it("with DEV=true, the dev command still loads: Ink then reads a package.json relative to its chunk", () => {
  const missing = join(REPO_ROOT, "no-such-dir");
  const result = spawnSync(process.execPath, [CLI, "dev", missing, "--no-tui"], { env: { ...process.env, DEV: "true" }, encoding: "utf8" });
  expect(result.stderr).not.toContain("ENOENT");
  expect(result.stderr).toContain(`error: ${missing} does not exist.`);
  expect(result.status).toBe(1);
});

it("the dev command loads without Node's deprecation warnings, which would print over the UI (whatwg-url's punycode is bundled)", () => {
  const missing = join(REPO_ROOT, "no-such-dir");
  // Node 21+ warns about the built-in punycode on its own; Node 20 with --pending-deprecation.
  const result = spawnSync(process.execPath, ["--pending-deprecation", CLI, "dev", missing, "--no-tui"], { encoding: "utf8" });
  expect(result.stderr).not.toContain("DeprecationWarning");
  expect(result.stderr).toContain(`error: ${missing} does not exist.`);
  expect(result.status).toBe(1);
});
