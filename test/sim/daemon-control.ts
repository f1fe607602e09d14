/**
 * Starting and stopping a cluster's background process (cluster-daemon.ts): the API server stand-in,
 * controllers and kubelet logic, which outlive the `kind create cluster` that started them, as a real
 * cluster outlives kind.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { sleep } from "./docker.js";
import { clusterDir, loadDaemonInfo, record, REPO_ROOT, SIM_DIR, type DaemonInfo } from "./state.js";

const TSX_LOADER = join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");

/** Starts the daemon detached (its own session, like setsid) with output to daemon.log. */
export async function startDaemon(key: string): Promise<number> {
  const log = openSync(join(clusterDir(key), "daemon.log"), "a");
  try {
    const child = spawn(process.execPath, ["--import", `file://${TSX_LOADER}`, join(SIM_DIR, "cluster-daemon.ts"), key], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", log, log],
      env: process.env,
    });
    if (child.pid === undefined) throw new Error("could not start the cluster daemon");
    child.unref();
    await record({ type: "daemon", pid: child.pid, cluster: key });
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Waits until the daemon published its URL and the API server answers HTTPS (any HTTP status). */
export async function waitForApiServer(key: string, pid: number, caPem: string, timeoutMs = 120_000): Promise<DaemonInfo> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await loadDaemonInfo(key);
    if (info?.pid === pid && (await answers(info.url, caPem))) return info;
    if (!isOurDaemon(pid)) break;
    await sleep(200);
  }
  const log = await readFile(join(clusterDir(key), "daemon.log"), "utf8").catch(() => "");
  throw new Error(`the cluster's API server did not come up; last lines of ${join(clusterDir(key), "daemon.log")}:\n${log.split("\n").slice(-25).join("\n")}`);
}

function answers(url: string, caPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/version`, { ca: caPem, timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Only a process whose command line is our daemon is ever signalled (pids get reused). */
export function isOurDaemon(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cluster-daemon.ts");
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`. False if it was not running. */
export async function stopDaemon(pid: number, graceMs = 10_000): Promise<boolean> {
  if (!isOurDaemon(pid)) return false;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurDaemon(pid) || isZombie(pid)) return true;
    await sleep(100);
  }
  if (isOurDaemon(pid)) process.kill(pid, "SIGKILL");
  return true;
}

function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? false;
  } catch {
    return true;
  }
}
