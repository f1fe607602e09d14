/**
 * The real interactive `mlkube dev` UI in a pseudo-terminal (tmux): header, pipeline, smoke tests
 * and history on screen; `?`, `t`, resize, `q` (terminal restored) and a forced double Ctrl-C.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE, copyFixture, REPO_ROOT, uniqueName } from "../support/engine.js";
import { CLI, clusterYaml, mlkube } from "./support/cluster.js";
import { waitForFreeNodePorts } from "./support/ports.js";
import { childrenOf } from "./support/dev-process.js";
import { Tmux } from "./support/tmux.js";

const CLUSTER = uniqueName("e2e-devtui");
const SESSION = "devtui";
let model: { dir: string; cleanup: () => Promise<void> };
let tmux: Tmux;
let script: string;

/** The pane's shell runs dev, then reports its exit code and the terminal modes, then waits. */
function runScript(dir: string): string {
  return [
    "#!/bin/sh",
    // Interactive only without CI (the suite may run under CI=true).
    "unset CI",
    `cd '${REPO_ROOT}'`,
    `'${process.execPath}' '${CLI}' dev '${dir}' --build-arg 'BASE_IMAGE=${BASE_IMAGE}'`,
    'echo "EXITED:$?"',
    "echo \"STTY:$(stty -a | tr ' ;' '\\n\\n' | grep -x -E -- '-?(icanon|echo)' | tr '\\n' ' ')\"",
    "exec sleep 3600",
    "",
  ].join("\n");
}

function otherChildren(panePid: number): string[] {
  return childrenOf(panePid).map((pid) => execFileSync("ps", ["-o", "comm=", "-p", String(pid)], { encoding: "utf8" }).trim());
}

beforeAll(async () => {
  await waitForFreeNodePorts(480_000);
  model = await copyFixture();
  const path = join(model.dir, "mlkube.yaml");
  await writeFile(path, `${await readFile(path, "utf8")}\n${clusterYaml(CLUSTER)}`);
  script = join(dirname(model.dir), "run-dev.sh");
  await writeFile(script, runScript(model.dir));
  await chmod(script, 0o755);
  const env = { ...process.env };
  delete env.CI;
  delete env.TMUX;
  tmux = new Tmux(uniqueName("mlkube-e2e"), env);
});

afterAll(async () => {
  tmux?.killServer();
  await sleep(500);
  await mlkube(["down", "--yes", "--all", model.dir]);
  await model.cleanup();
});

describe("mlkube dev in a terminal", () => {
  let panePid: number;

  it("shows the header, the pipeline, passing smoke tests and the history row", async () => {
    tmux.newSession(SESSION, script);
    panePid = Number(tmux.display(SESSION, "#{pane_pid}"));
    // #1 may fail its smoke tests because of the first-rollout race in the product (see the report).
    const screen = await tmux.waitForScreen(SESSION, /#1 [✓✗]/, 300_000, "iteration #1 to finish on screen");
    expect(screen).toContain("iris-sklearn");
    expect(screen).toContain(CLUSTER);
    expect(screen).toContain(`kind-${CLUSTER}`);
    expect(screen).toMatch(/delivery (registry|load|in-cluster-engine)/);
    expect(screen).toMatch(/endpoint http:\/\/127\.0\.0\.1:30080/);
    for (const stage of ["build", "deliver", "apply", "rollout"]) expect(screen).toMatch(new RegExp(`✓\\s+${stage}\\b`));
    expect(screen).toMatch(/[✓✗]\s+test\b/);
    expect(screen).toMatch(/#1 [✓✗] .*start/);
    expect(screen).not.toContain("EXITED");
  });

  it("? shows the key help and any key closes it", async () => {
    tmux.keys(SESSION, "?");
    const help = await tmux.waitForScreen(SESSION, /rebuild now/, 10_000, "the help");
    expect(help).toContain("run the smoke tests");
    expect(help).toMatch(/q, Ctrl-C\s+quit/);
    tmux.keys(SESSION, "Escape");
    await tmux.waitForScreen(SESSION, (screen) => !screen.includes("rebuild now"), 10_000, "the help to close");
  });

  it("t runs the smoke tests again: a new history row", async () => {
    tmux.keys(SESSION, "t");
    const screen = await tmux.waitForScreen(SESSION, /#2 ✓ .*tests requested/, 60_000, "iteration #2 (tests requested)");
    expect(screen).toMatch(/#1 [✓✗]/);
    expect(screen).toMatch(/3 passed/);
    expect(screen).toMatch(/✓ setosa/);
    expect(screen).toMatch(/✓ virginica/);
  });

  it("a resize keeps the stage statuses visible and does not crash", async () => {
    tmux.run("resize-window", "-t", SESSION, "-x", "60", "-y", "20");
    await sleep(1_500);
    const small = await tmux.waitForScreen(SESSION, /test/, 10_000, "the small screen");
    const lines = small.replace(/\n$/, "").split("\n");
    expect(lines.length).toBeLessThanOrEqual(20);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
    expect(small).toMatch(/✓\s+test\b/);
    expect(small).not.toContain("EXITED");
    tmux.run("resize-window", "-t", SESSION, "-x", "120", "-y", "40");
    const big = await tmux.waitForScreen(SESSION, /#2 ✓/, 10_000, "the screen after growing back");
    expect(big).toContain("iris-sklearn");
    expect(big).not.toContain("EXITED");
  });

  it("q quits: the summary is printed, the exit code is 0 and the terminal is restored", async () => {
    tmux.keys(SESSION, "q");
    const screen = await tmux.waitForScreen(SESSION, /STTY:/, 20_000, "the shell after dev ended");
    expect(screen).toContain("EXITED:0");
    expect(screen).toMatch(/mlkube dev: 2 iteration\(s\), [12] ok/);
    const modes = /STTY:(.*)/.exec(screen)![1]!.trim().split(/\s+/);
    expect(modes).toEqual(expect.arrayContaining(["icanon", "echo"]));
    expect(tmux.display(SESSION, "#{cursor_flag}")).toBe("1");
    expect(tmux.display(SESSION, "#{alternate_on}")).toBe("0");
    // The pane's shell went on to `exec sleep`: dev and every child it started are gone.
    expect(execFileSync("ps", ["-o", "comm=", "-p", String(panePid)], { encoding: "utf8" }).trim()).toBe("sleep");
    expect(otherChildren(panePid)).toEqual([]);
  });

  it("Ctrl-C twice forces the exit", async () => {
    const name = `${SESSION}-force`;
    tmux.killServer();
    tmux = new Tmux(uniqueName("mlkube-e2e"), tmux.env);
    tmux.newSession(name, script);
    // The cluster exists now; wait until the UI runs an iteration, then press Ctrl-C twice.
    await tmux.waitForScreen(name, /#1|build/, 120_000, "the UI to start an iteration");
    tmux.keys(name, "C-c");
    await sleep(50);
    tmux.keys(name, "C-c");
    const screen = await tmux.waitForScreen(name, /STTY:/, 10_000, "the shell after the forced exit");
    expect(screen).toMatch(/EXITED:(130|0)/);
    if (screen.includes("EXITED:130")) expect(screen).toContain("forced exit");
    const modes = /STTY:(.*)/.exec(screen)![1]!.trim().split(/\s+/);
    expect(modes).toEqual(expect.arrayContaining(["icanon", "echo"]));
  });
});
