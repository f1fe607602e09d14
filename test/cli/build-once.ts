/**
 * The CLI suites run the built `dist/cli.js` as a user would: build it once for all of them, so the
 * files never rebuild it each (and never run a stale build).
 */
import { execFileSync } from "node:child_process";

const REPO = new URL("../..", import.meta.url).pathname;

export function setup(): void {
  execFileSync("npm", ["run", "build"], { cwd: REPO, stdio: "pipe" });
}
