/**
 * Live update's copy into a pod, run for real: the copy script in a container of the base image,
 * fed through `docker exec` with stdin the way pods/exec feeds it in a cluster. PID 1 stands in
 * for the restart supervisor (it has its own suite): it counts SIGHUPs in the state file the
 * script reads. The wait for an answer is recorded here.
 */
import type Dockerode from "dockerode";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult } from "../../src/adapters/kube/pod-exec.js";
import { syncToPods, type PodAccess } from "../../src/adapters/live/sync-pods.js";
import { LIVE_STATE_DIR, LIVE_STATE_FILE } from "../../src/adapters/docker/dev-layer.js";
import { LiveUnavailable, UserError } from "../../src/errors.js";
import { BASE_IMAGE, docker, engineAvailable, uniqueName } from "../support/engine.js";

const usable = await engineAvailable();

/** `docker exec -i`: stdin written and closed, stdout and stderr apart, the exit code. */
async function dockerExec(container: Dockerode.Container, command: string[], stdin?: NodeJS.ReadableStream): Promise<ExecResult> {
  const exec = await container.exec({ Cmd: command, AttachStdin: stdin !== undefined, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: stdin !== undefined });
  const [out, err] = [new PassThrough(), new PassThrough()];
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  out.on("data", (chunk: Buffer) => stdout.push(chunk));
  err.on("data", (chunk: Buffer) => stderr.push(chunk));
  docker.modem.demuxStream(stream, out, err);
  if (stdin) stdin.pipe(stream);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") };
}

/** PID 1 of the test container: a new start (generation) per SIGHUP, as the supervisor records them. */
const FAKE_SUPERVISOR = `mkdir -p ${LIVE_STATE_DIR}; g=1
save() { printf '{"generation": %s, "lastRestart": {"method": "warm-fork", "ms": 12}}' "$g" > ${LIVE_STATE_FILE}.new && mv ${LIVE_STATE_FILE}.new ${LIVE_STATE_FILE}; }
save
trap 'g=$((g + 1)); save' HUP
while :; do sleep 0.05; done`;

/**
 * PID 1 as a server's own reloader (Flask's, uvicorn's): when app.py changes it stops its server
 * process and starts a new one, whose PID it writes down. Shell builtins read the file, so the only
 * other processes are its short-lived sleeps.
 */
const FAKE_RELOADER = `mkdir -p /app; echo v1 > /app/app.py
serve() { sleep 1000 & child=$!; echo "$child" > /tmp/server.pid; }
IFS= read -r last < /app/app.py; serve
while :; do
  IFS= read -r now < /app/app.py
  if [ "$now" != "$last" ]; then kill "$child"; last=$now; serve; fi
  sleep 0.1
done`;

describe.runIf(usable)("live update copies files into a running container", () => {
  let container: Dockerode.Container;
  let local: string;
  /** The pod of each exec, in order. */
  const execs: string[] = [];
  /** How many of the next waits see a server that died (a broken change). */
  let failingStarts = 0;

  const access = (target: Dockerode.Container, rewrite: (command: string[]) => string[] = (command) => command): PodAccess => ({
    exec: (pod, command, stdin) => {
      execs.push(pod);
      return dockerExec(target, rewrite(command), stdin);
    },
    waitAnswering: async () => {
      if (failingStarts > 0) {
        failingStarts -= 1;
        throw new Error("the server exited with code 1");
      }
    },
    logTail: async () => ['  File "/app/app.py", line 3', "SyntaxError: invalid syntax"],
  });
  const read = async (path: string) => (await dockerExec(container, ["sh", "-c", 'cat "$1" 2>/dev/null || echo "(missing)"', "sh", path])).stdout.trim();
  /** Server starts so far, the first included. */
  const generation = async () => (JSON.parse(await read(LIVE_STATE_FILE)) as { generation: number }).generation;

  beforeAll(async () => {
    local = await mkdtemp(join(tmpdir(), "mlkube-live-copy-"));
    container = await docker.createContainer({ Image: BASE_IMAGE, Entrypoint: ["sh", "-c", FAKE_SUPERVISOR], Cmd: [], name: uniqueName("mlkube-live-copy") });
    await container.start();
    await dockerExec(container, ["sh", "-c", "mkdir -p /app && echo v1 > /app/app.py && echo old-model > /app/model.pkl && echo stale > /app/old.txt"]);
  });

  afterAll(async () => {
    await container?.remove({ force: true });
    if (local) await rm(local, { recursive: true, force: true });
  });

  it("writes changed and new files, deletes removed ones, checks every checksum, restarts the server", async () => {
    await writeFile(join(local, "app.py"), "v2\n");
    await writeFile(join(local, "extra file.py"), "new\n");
    const plan = {
      copies: [
        { local: join(local, "app.py"), remote: "/app/app.py" },
        { local: join(local, "extra file.py"), remote: "/app/extra file.py" },
      ],
      deletes: ["/app/old.txt"],
    };
    const result = await syncToPods([{ pod: "pod-a", port: 8080 }], plan, access(container), { restart: "auto" });
    expect(result.restarts).toEqual(["warm fork in 12 ms"]);
    expect(await read("/app/app.py")).toBe("v2");
    expect(await read("/app/extra file.py")).toBe("new");
    expect(await read("/app/old.txt")).toBe("(missing)");
    expect(await generation()).toBe(2);
  });

  it("puts the previous files back when the server does not come back, and shows its traceback", async () => {
    await writeFile(join(local, "app.py"), "v3 broken\n");
    await writeFile(join(local, "helper.py"), "added by the broken change\n");
    failingStarts = 1;
    execs.length = 0;
    const failure = syncToPods(
      [
        { pod: "pod-a", port: 8080 },
        { pod: "pod-b", port: 8080 },
      ],
      {
        copies: [
          { local: join(local, "app.py"), remote: "/app/app.py" },
          { local: join(local, "helper.py"), remote: "/app/helper.py" },
        ],
        deletes: ["/app/model.pkl"],
      },
      access(container),
      { restart: "auto" },
    );
    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toMatchObject({
      message: "The changed files did not start on pod pod-a: the server exited with code 1. Its previous files are back and it answers again.",
      details: expect.arrayContaining(["SyntaxError: invalid syntax"]),
    });
    // The first pod only (the copy, then the restore): the second never got the broken change.
    expect(execs).toEqual(["pod-a", "pod-a"]);
    expect(await generation()).toBe(4);
    expect(await read("/app/app.py")).toBe("v2");
    expect(await read("/app/model.pkl")).toBe("old-model");
    expect(await read("/app/helper.py")).toBe("(missing)");
  });

  it("restarts nothing when a copied file's checksum differs in the container, and puts the previous file back", async () => {
    await writeFile(join(local, "app.py"), "v5\n");
    const before = await generation();
    // The checksum the script compares with (the argument after the path) no longer matches.
    const corrupt = (command: string[]) => command.map((arg, index) => (command[index - 1] === "/app/app.py" ? "0".repeat(64) : arg));
    const failure = syncToPods(
      [{ pod: "pod-a", port: 8080 }],
      { copies: [{ local: join(local, "app.py"), remote: "/app/app.py" }], deletes: [] },
      access(container, corrupt),
      { restart: "auto" },
    );
    await expect(failure).rejects.toBeInstanceOf(LiveUnavailable);
    await expect(failure).rejects.toMatchObject({ reason: "after the copy, /app/app.py in pod pod-a differ from the local files" });
    expect(await read("/app/app.py")).toBe("v2");
    expect(await generation()).toBe(before);
  });

  it("with restart: none, leaves the server alone and waits for its own reload: a new process that stays", async () => {
    const reloading = await docker.createContainer({
      Image: BASE_IMAGE,
      Entrypoint: ["sh", "-c", FAKE_RELOADER],
      Cmd: [],
      name: uniqueName("mlkube-live-reload"),
    });
    await reloading.start();
    try {
      await writeFile(join(local, "app.py"), "v6\n");
      const serverPid = async () => (await dockerExec(reloading, ["sh", "-c", "cat /tmp/server.pid"])).stdout.trim();
      await new Promise((resolve) => setTimeout(resolve, 300)); // the reloader has started its server
      const before = await serverPid();
      const result = await syncToPods(
        [{ pod: "pod-r", port: 8080 }],
        { copies: [{ local: join(local, "app.py"), remote: "/app/app.py" }], deletes: [] },
        access(reloading),
        { restart: "none" },
      );
      const after = await serverPid();
      expect(after).not.toBe(before);
      expect(result.restarts).toEqual([`reloaded by the server itself (new process ${after})`]);
      expect((await dockerExec(reloading, ["cat", "/app/app.py"])).stdout.trim()).toBe("v6");
    } finally {
      await reloading.remove({ force: true });
    }
  });

  it("with restart: none, rebuilds instead when no new process comes within 10 s: the old code may still serve", async () => {
    await writeFile(join(local, "app.py"), "v6\n");
    const before = await generation();
    const started = Date.now();
    // PID 1 here starts a short-lived sleep every 50 ms: processes that come and go are not a reload.
    const failure = syncToPods(
      [{ pod: "pod-a", port: 8080 }],
      { copies: [{ local: join(local, "app.py"), remote: "/app/app.py" }], deletes: [] },
      access(container),
      { restart: "none" },
    );
    await expect(failure).rejects.toBeInstanceOf(LiveUnavailable);
    await expect(failure).rejects.toMatchObject({
      reason:
        "no new server process started in pod pod-a within 10 s of the copy (restart: none expects the server to reload by itself), so the old code may still be serving",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await generation()).toBe(before);
  });

  it("writes nothing into a pod that runs no supervisor, and says why", async () => {
    const plain = await docker.createContainer({ Image: BASE_IMAGE, Entrypoint: ["sleep", "infinity"], Cmd: [], name: uniqueName("mlkube-live-nosup") });
    await plain.start();
    try {
      await dockerExec(plain, ["sh", "-c", "mkdir -p /app && echo v1 > /app/app.py"]);
      await writeFile(join(local, "app.py"), "v7\n");
      const failure = syncToPods(
        [{ pod: "pod-d", port: 8080 }],
        { copies: [{ local: join(local, "app.py"), remote: "/app/app.py" }], deletes: [] },
        access(plain),
        { restart: "auto" },
      );
      await expect(failure).rejects.toMatchObject({ reason: "pod pod-d runs no restart supervisor (it was started from an image without mlkube's dev layer)" });
      expect((await dockerExec(plain, ["cat", "/app/app.py"])).stdout.trim()).toBe("v1");
    } finally {
      await plain.remove({ force: true });
    }
  });

  it("says live update needs tar when the image has none, for the whole session", async () => {
    const bare = await docker.createContainer({ Image: BASE_IMAGE, Entrypoint: ["sleep", "infinity"], Cmd: [], name: uniqueName("mlkube-live-notar") });
    await bare.start();
    try {
      await dockerExec(bare, ["sh", "-c", "rm -f /bin/tar /usr/bin/tar"]);
      await writeFile(join(local, "app.py"), "v4\n");
      const failure = syncToPods(
        [{ pod: "pod-c", port: 8080 }],
        { copies: [{ local: join(local, "app.py"), remote: "/app/app.py" }], deletes: [] },
        access(bare),
        { restart: "auto" },
      );
      await expect(failure).rejects.toBeInstanceOf(LiveUnavailable);
      await expect(failure).rejects.toMatchObject({ reason: "live update needs tar in the image", forSession: true });
    } finally {
      await bare.remove({ force: true });
    }
  });
});
