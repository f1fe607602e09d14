import { DEFAULT_REGISTRY } from "../adapters/cluster/local-registry.js";
import { applyFixes, type FixOutcome } from "../adapters/doctor/fixes.js";
import { runChecks, type DoctorDeps } from "../adapters/doctor/run.js";
import { runCommand } from "../adapters/exec.js";
import { mlkubeBinDir } from "../adapters/tools/kind-release.js";
import { loadClusterSettings, type ClusterSettings } from "../config/load.js";
import { doctorExitCode, type DoctorCheck } from "../core/doctor.js";
import { isUserError } from "../errors.js";

interface DoctorOptions {
  json?: boolean;
  fix?: boolean;
}

/** `mlkube doctor`: one line per check with its fix; exit 1 when any check fails. */
export async function runDoctorCommand(dir: string, options: DoctorOptions): Promise<number> {
  const { settings, problem } = await readSettings(dir);
  const deps: DoctorDeps = {
    env: process.env,
    platform: process.platform,
    exec: runCommand,
    cwd: process.cwd(),
    binDir: mlkubeBinDir(),
    registry: DEFAULT_REGISTRY,
    settings,
  };
  let checks = await runChecks(deps);
  let fixes: FixOutcome[] = [];
  if (options.fix) {
    fixes = await applyFixes(checks, deps);
    // Show the state after fixing, not before.
    if (fixes.length > 0) checks = await runChecks(deps);
  }
  const all = problem ? [problem, ...checks] : checks;
  const code = doctorExitCode(all);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: code === 0, checks: all, ...(options.fix ? { fixes } : {}) })}\n`);
    return code;
  }
  const lines = fixes.flatMap((fix) => [`--fix ${fix.check}: ${fix.ok ? "" : "failed: "}${fix.message}`, ...(fix.hint ? [`      ${fix.hint}`] : [])]);
  process.stdout.write(`${[...lines, ...formatChecks(all)].join("\n")}\n`);
  return code;
}

/** `ok   docker      engine 20.10.24 at unix:///var/run/docker.sock`, and `     fix: ...` under a problem. */
function formatChecks(checks: readonly DoctorCheck[]): string[] {
  const width = Math.max(...checks.map((check) => check.name.length));
  const lines = checks.flatMap((check) => [
    `${check.status.padEnd(4)} ${check.name.padEnd(width)}  ${check.detail}`,
    ...(check.fix && check.status !== "ok" ? [`     fix: ${check.fix}`] : []),
  ]);
  const count = (status: DoctorCheck["status"]) => checks.filter((check) => check.status === status).length;
  const skipped = count("skip") > 0 ? `, ${count("skip")} skipped` : "";
  return [...lines, `${count("ok")} ok, ${count("warn")} warn, ${count("fail")} fail${skipped}`];
}

/** mlkube.yaml's cluster settings; broken settings become a failed check instead of stopping the others. */
async function readSettings(dir: string): Promise<{ settings: ClusterSettings | undefined; problem: DoctorCheck | undefined }> {
  try {
    return { settings: await loadClusterSettings(dir), problem: undefined };
  } catch (error) {
    if (!isUserError(error) || error.kind !== "config") throw error;
    return {
      settings: undefined,
      problem: { name: "config", status: "fail", detail: error.message, fix: `mlkube config ${dir}   (lists each error with its line and column)` },
    };
  }
}
