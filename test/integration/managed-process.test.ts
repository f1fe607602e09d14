import { execa } from "execa";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawnManaged } from "../../src/adapters/exec.js";

/**
 * A stand-in for `minikube service --url` off Linux: prints the URL, keeps a child running (ssh
 * there, `sleep` here) and cleans up on SIGINT only. A shell's background job ignores SIGINT, so
 * the grandchild also stands for anything that would outlive a signal to the leader alone.
 */
const TUNNEL = `#!/bin/sh
trap 'echo interrupted > "$DIR/trapped"; exit 0' INT
sleep 1000 &
echo "$$ $!" > "$DIR/pids"
echo http://127.0.0.1:51234
echo
echo http://127.0.0.1:51235
wait
`;

/** What minikube does on SIGINT: stop its ssh child, then exit. */
const CLEANING_TRAP = `trap 'echo interrupted > "$DIR/trapped"; kill $!; exit 0' INT`;

/** Whether PID is still a process; a zombie (killed, not yet reaped by its new parent) is not. */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return !/^\d+ \(.*\) Z /.test(stat);
}

describe.runIf(process.platform !== "win32")("a managed child (a minikube tunnel) is stopped with its children", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-managed-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writeTunnel = async (script: string) => {
    const path = join(dir, "tunnel.sh");
    await writeFile(path, script);
    await chmod(path, 0o755);
    return path;
  };

  const start = async (script: string) => {
    const path = await writeTunnel(script);
    const tunnel = spawnManaged(path, [], { env: { DIR: dir } });
    expect(await tunnel.line(1)).toBe("http://127.0.0.1:51235");
    expect(await tunnel.line(0)).toBe("http://127.0.0.1:51234");
    const [leader, grandchild] = (await readFile(join(dir, "pids"), "utf8")).trim().split(" ").map(Number);
    expect(await alive(leader!)).toBe(true);
    expect(await alive(grandchild!)).toBe(true);
    return { tunnel, leader: leader!, grandchild: grandchild! };
  };

  const gone = async (pid: number) => {
    for (let tries = 0; tries < 40 && (await alive(pid)); tries++) await new Promise((done) => setTimeout(done, 50));
    return !(await alive(pid));
  };

  it("stop() sends SIGINT (what minikube waits for) and leaves no grandchild behind", async () => {
    const { tunnel, leader, grandchild } = await start(TUNNEL);
    const started = performance.now();
    await tunnel.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await readFile(join(dir, "trapped"), "utf8")).toBe("interrupted\n");
    expect(await alive(leader)).toBe(false);
    expect(await alive(grandchild)).toBe(false);
  });

  it("a child that ignores SIGINT is killed, with its group, after the grace period", async () => {
    const { tunnel, leader, grandchild } = await start(TUNNEL.replace(/^trap .*$/m, "trap '' INT"));
    const started = performance.now();
    await tunnel.stop();
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(await alive(leader)).toBe(false);
    expect(await alive(grandchild)).toBe(false);
  });

  it("mlkube ended by a signal no command handles passes SIGINT on to the tunnel's group, then ends as before", async () => {
    const path = await writeTunnel(TUNNEL.replace(/^trap .*$/m, CLEANING_TRAP));
    const exec = resolve("src/adapters/exec.ts");
    const main = join(dir, "main.mts");
    await writeFile(
      main,
      `import { spawnManaged } from ${JSON.stringify(exec)};\nconsole.log(await spawnManaged(${JSON.stringify(path)}, [], { env: { DIR: ${JSON.stringify(dir)} } }).line(0));\nsetInterval(() => undefined, 1000);\n`,
    );
    const mlkube = execa(process.execPath, ["--import", "tsx", main], { reject: false, cwd: resolve(".") });
    const started = new Promise<void>((ready) => mlkube.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("http://") && ready()));
    await Promise.race([started, mlkube.then((result) => Promise.reject(new Error(`exited early: ${result.stderr}`)))]);
    const [leader, grandchild] = (await readFile(join(dir, "pids"), "utf8")).trim().split(" ").map(Number);
    mlkube.kill("SIGINT");
    expect((await mlkube).signal).toBe("SIGINT");
    expect(await gone(leader!)).toBe(true);
    expect(await gone(grandchild!)).toBe(true);
    expect(await readFile(join(dir, "trapped"), "utf8")).toBe("interrupted\n");
  });
});
