/** A private tmux server (its own socket) to drive the real interactive UI in a pseudo-terminal. */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

export class Tmux {
  constructor(
    readonly socket: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  run(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8", env: this.env });
  }

  /** A detached session of the given size running `command` (a shell command line). */
  newSession(name: string, command: string, columns = 120, rows = 40): void {
    this.run("new-session", "-d", "-s", name, "-x", String(columns), "-y", String(rows), command);
    this.run("set", "-g", "window-size", "manual");
  }

  screen(name: string): string {
    return this.run("capture-pane", "-p", "-t", name);
  }

  keys(name: string, ...keys: string[]): void {
    this.run("send-keys", "-t", name, ...keys);
  }

  display(name: string, format: string): string {
    return this.run("display", "-p", "-t", name, format).trim();
  }

  async waitForScreen(name: string, match: RegExp | ((screen: string) => boolean), timeoutMs: number, what = String(match)): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const test = typeof match === "function" ? match : (screen: string) => match.test(screen);
    let screen = "";
    while (Date.now() < deadline) {
      screen = this.screen(name);
      if (test(screen)) return screen;
      await sleep(250);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${screen}`);
  }

  killServer(): void {
    try {
      this.run("kill-server");
    } catch {
      // Already gone.
    }
  }
}
