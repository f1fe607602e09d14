/** `mlkube --help`: what every invocation pays before doing anything (Node.js start + module loading). */
import { spawnSync } from "node:child_process";
import { CLI } from "../test/e2e/support/cluster.js";

export function helpTimes(runs: number): number[] {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const startedAt = performance.now();
    const result = spawnSync(process.execPath, [CLI, "--help"], { stdio: "ignore" });
    if (result.status !== 0) throw new Error(`mlkube --help exited ${result.status}`);
    times.push(performance.now() - startedAt);
  }
  return times;
}
