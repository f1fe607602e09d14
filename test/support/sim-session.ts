/**
 * The cluster simulator for a whole run (the e2e global setup, the bench), taken while holding
 * the e2e lock: its kind/minikube stand-ins go first on PATH and KUBECONFIG points at its own file,
 * set in this process's environment so every child sees them.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./engine.js";

function simCli(args: string[], output: "pipe" | "ignore" | "inherit"): string {
  return (
    execFileSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/sim/cli.ts"), ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", output, "inherit"],
    }) ?? ""
  );
}

/** Clears what a run that died left (its clusters would hold the NodePorts every new cluster maps), then brings the simulator up. */
export function startSimulator(): void {
  simCli(["down"], "ignore");
  const exports = simCli(["up"], "pipe");
  for (const line of exports.split("\n")) {
    const match = /^export (\w+)=(.*)$/.exec(line.trim());
    if (!match?.[1] || match[2] === undefined) continue;
    // The value is shell-quoted for eval; evaluate it the same way a shell would.
    process.env[match[1]] = execFileSync("sh", ["-c", `printf '%s' ${match[2]}`], { encoding: "utf8", env: process.env });
  }
}

/** Removes every simulated cluster, daemon and network; `report` shows the summary line. */
export function stopSimulator(report: "inherit" | "ignore" = "inherit"): void {
  simCli(["down"], report);
}
