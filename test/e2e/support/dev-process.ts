/** Runs `mlkube dev` as a child process and reads its output line by line as it arrives. */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { CLI } from "./cluster.js";

export interface DevEvent {
  type: string;
  [key: string]: unknown;
}

export class DevProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly events: DevEvent[] = [];
  stderr = "";
  private waiters: { from: number; match: (event: DevEvent) => boolean; resolve: (event: DevEvent) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitedAt: number | undefined;
  linesAtExit: number | undefined;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    const reader = createInterface({ input: this.child.stdout! });
    reader.on("line", (line) => {
      this.lines.push(line);
      let event: DevEvent;
      try {
        event = JSON.parse(line) as DevEvent;
      } catch {
        return;
      }
      this.events.push(event);
      const index = this.events.length - 1;
      for (const waiter of [...this.waiters]) {
        if (index >= waiter.from && waiter.match(event)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitedAt = Date.now();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The index the next event will have: pass it as `from` to wait only for events after now. */
  mark(): number {
    return this.events.length;
  }

  /** Resolves with the first event at index >= from that matches, or rejects after timeoutMs. */
  waitFor(match: (event: DevEvent) => boolean, timeoutMs: number, from = 0, what = "an event"): Promise<DevEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { from, match, resolve: (event: DevEvent) => (clearTimeout(timer), resolve(event)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        // Log lines would crowd out the loop's own events: those come first.
        const tail = this.lines
          .filter((line) => !line.includes('"type":"log"'))
          .slice(-30)
          .join("\n");
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last output:\n${tail}\nstderr:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      void this.exited.then(() => {
        setTimeout(() => {
          if (!this.waiters.includes(waiter)) return;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(
            new Error(`mlkube dev exited while waiting for ${what}; last output:\n${this.lines.slice(-30).join("\n")}\nstderr:\n${this.stderr.slice(-2000)}`),
          );
        }, 200);
      });
      this.waiters.push(waiter);
    });
  }

  /** The events of one iteration, in order. */
  iteration(number: number): DevEvent[] {
    return this.events.filter((event) => event.iteration === number);
  }

  /** Stops the process (SIGTERM, then SIGKILL after graceMs) and waits for it to end. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The pids whose parent is `pid` (Linux /proc through ps). */
export function childrenOf(pid: number): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([child, parent]) => parent === pid && child !== undefined)
    .map(([child]) => child!);
}
