/**
 * Which processes on this machine run with given arguments (from /proc, Linux): how a test finds
 * a `minikube service` left running, or the `ssh -L PORT:...` child it started.
 */
import { readdir, readFile } from "node:fs/promises";
import { connect } from "node:net";

export interface RunningProcess {
  pid: number;
  args: string[];
}

export async function processesWith(matches: (args: string[]) => boolean): Promise<RunningProcess[]> {
  const found: RunningProcess[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // A process may end between the listing and the read; a zombie has an empty command line.
    const raw = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const args = raw.split("\0").filter((arg) => arg !== "");
    if (args.length > 0 && matches(args)) found.push({ pid: Number(entry), args });
  }
  return found;
}

/** Whether PID runs (a zombie, ended but not yet reaped, does not). */
export async function isRunning(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")) !== "";
}

/** ssh's forward of LOCAL_PORT, as minikube passes it ("-L 40123:10.96.0.10:80", one argument). */
export function forwardsPort(localPort: number): (args: string[]) => boolean {
  return (args) => args.some((arg, index) => (arg.startsWith("-L") ? arg.slice(2) : args[index - 1] === "-L" ? arg : "").trim().startsWith(`${localPort}:`));
}

/** Whether something accepts connections on 127.0.0.1:PORT. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(true)).once("error", () => resolve(false));
    socket.once("connect", () => socket.destroy());
  });
}
