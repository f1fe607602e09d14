/**
 * The log flood: the interactive UI runs in a real pseudo-terminal (tmux) while the model's pod
 * writes `rate` lines a second for `seconds`. Measured on the mlkube process (and any children):
 * CPU share of one core over the flood, peak resident memory, how long a key press takes to change
 * the screen, and whether every line the pod wrote reached the log store (the log pane's title
 * shows the store's received and dropped counters).
 */
import { chmod, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE_IMAGE, REPO_ROOT, uniqueName } from "../test/support/engine.js";
import { CLI } from "../test/e2e/support/cluster.js";
import { Tmux } from "../test/e2e/support/tmux.js";
import { cpuSeconds, memoryMb } from "./procfs.js";
import { percentile, round } from "./stats.js";

const SESSION = "flood";
const MODEL_URL = "http://127.0.0.1:30080";

export interface FloodResult {
  rate: number;
  seconds: number;
  /** Percent of one core used by mlkube during the flood. */
  cpuPercent: number | null;
  /** Peak resident memory of the mlkube process over its whole session (VmHWM). */
  rssMb: number | null;
  /** The highest VmRSS sampled every 250 ms during the flood. */
  rssDuringFloodMaxMb: number | null;
  keyPresses: number;
  keyLatencyP50: number | null;
  keyLatencyP95: number | null;
  keyLatencyMax: number | null;
  keyTimeouts: number;
  linesWritten: number;
  linesReceived: number | null;
  linesDropped: number | null;
  /** Written but neither received nor counted: must be 0. */
  linesLostSilently: number | null;
}

interface Counters {
  received: number;
  dropped: number;
}

/** The log pane's title: "logs following · all pods · 150,021 lines · 12 lines dropped". */
function counters(screen: string): Counters | undefined {
  const match = /· ([\d,]+) lines(?: · ([\d,]+) lines dropped)?/.exec(screen);
  if (!match) return undefined;
  return { received: Number(match[1]!.replace(/,/g, "")), dropped: Number((match[2] ?? "0").replace(/,/g, "")) };
}

async function json(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${MODEL_URL}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Milliseconds from send-keys until the screen satisfies `answered`, polling every 5 ms. */
async function keyLatency(tmux: Tmux, key: string, answered: (screen: string) => boolean, timeoutMs = 5_000): Promise<number | undefined> {
  const sentAt = performance.now();
  tmux.keys(SESSION, key);
  while (performance.now() - sentAt < timeoutMs) {
    if (answered(tmux.screen(SESSION))) return performance.now() - sentAt;
    await sleep(5);
  }
  return undefined;
}

/** `nodeArgs`: extra Node.js flags for the mlkube process (`--cpu-prof`, `--heap-prof` when profiling). */
export async function logFlood(dir: string, rate: number, seconds: number, say: (line: string) => void, nodeArgs: string[] = []): Promise<FloodResult> {
  const script = join(dirname(dir), "run-dev-tui.sh");
  // exec: the pane's process is mlkube itself, so its pid is the one measured.
  await writeFile(
    script,
    [
      "#!/bin/sh",
      "unset CI",
      `cd '${REPO_ROOT}'`,
      `exec '${process.execPath}' ${nodeArgs.map((arg) => `'${arg}'`).join(" ")} '${CLI}' dev '${dir}' --build-arg 'BASE_IMAGE=${BASE_IMAGE}'`,
      "",
    ].join("\n"),
  );
  await chmod(script, 0o755);
  const env = { ...process.env };
  delete env.CI;
  delete env.TMUX;
  const tmux = new Tmux(uniqueName("mlkube-bench"), env);
  try {
    tmux.newSession(SESSION, script, 120, 40);
    const pid = Number(tmux.display(SESSION, "#{pane_pid}"));
    await tmux.waitForScreen(SESSION, /#1 [✓✗]/, 300_000, "iteration #1 on screen");
    // The pod's log stream is followed once the rollout is done; give it a moment to attach.
    await tmux.waitForScreen(SESSION, (screen) => counters(screen) !== undefined, 30_000, "the log pane's counters");
    await sleep(3_000);
    const before = counters(tmux.screen(SESSION))!;
    say(`log flood: ${rate} lines/s for ${seconds} s (store had ${before.received} lines)`);

    const cpuBefore = cpuSeconds(pid);
    const floodStart = performance.now();
    const started = await json("/flood", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rate, seconds }) });
    if (started.status !== 202) throw new Error(`POST /flood answered ${started.status}`);
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, memoryMb(pid).rss)), 250);

    // Key presses through the flood: `?` opens the help, any key closes it; both must show.
    const latencies: number[] = [];
    let timeouts = 0;
    let written = 0;
    while (performance.now() - floodStart < seconds * 1000) {
      await sleep(1_000);
      for (const [key, answered] of [
        ["?", (screen: string) => screen.includes("rebuild now")],
        ["?", (screen: string) => !screen.includes("rebuild now")],
      ] as const) {
        const ms = await keyLatency(tmux, key, answered);
        if (ms === undefined) timeouts++;
        else latencies.push(ms);
      }
    }
    for (;;) {
      const status = await json("/flood");
      written = Number(status.body.written);
      if (status.body.done === true || performance.now() - floodStart > (seconds + 60) * 1000) break;
      await sleep(100);
    }
    const floodSeconds = (performance.now() - floodStart) / 1000;
    const cpuPercent = ((cpuSeconds(pid) - cpuBefore) / floodSeconds) * 100;
    clearInterval(sampler);
    // The help may still be open if a key timed out: close it so the counters show.
    if (tmux.screen(SESSION).includes("rebuild now")) tmux.keys(SESSION, "Escape");
    // Wait until the counters stop moving: lines still in flight through the log stream.
    let after = counters(tmux.screen(SESSION));
    for (let stable = 0, tries = 0; stable < 3 && tries < 60; tries++) {
      await sleep(1_000);
      const next = counters(tmux.screen(SESSION));
      stable = next && after && next.received === after.received ? stable + 1 : 0;
      after = next;
    }
    const peak = memoryMb(pid).peak;
    tmux.keys(SESSION, "q");
    await sleep(3_000);
    const received = after ? after.received - before.received : null;
    const dropped = after ? after.dropped - before.dropped : null;
    return {
      rate,
      seconds,
      cpuPercent: round(cpuPercent, 1),
      rssMb: round(peak, 1),
      rssDuringFloodMaxMb: round(rssMax, 1),
      keyPresses: latencies.length + timeouts,
      keyLatencyP50: round(percentile(latencies, 50)),
      keyLatencyP95: round(percentile(latencies, 95)),
      keyLatencyMax: round(latencies.length ? Math.max(...latencies) : null),
      keyTimeouts: timeouts,
      linesWritten: written,
      linesReceived: received,
      linesDropped: dropped,
      linesLostSilently: received === null ? null : Math.max(0, written - received),
    };
  } finally {
    tmux.killServer();
  }
}
