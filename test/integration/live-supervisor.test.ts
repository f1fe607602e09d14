// The dev image's restart supervisor on the real engine: the iris fixture built as `mlkube dev`
// builds it, plus the supervisor layer, run as a container; restarts are requested the way mlkube
// does it (`kill -HUP 1` through exec) after copying a changed app.py in.
import type Dockerode from "dockerode";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import tarFs from "tar-fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder } from "../../src/adapters/docker/build.js";
import { execInContainer } from "../../src/adapters/docker/container-exec.js";
import {
  addDevLayer,
  LIVE_STATE_DIR,
  LIVE_STATE_FILE,
  RESTART_COMMAND,
  RESTART_POLICY_ENV,
  type DevLayerResult,
  type SupervisorState,
} from "../../src/adapters/docker/dev-layer.js";
import { demuxedLogs, readAll } from "../sim/node/logs.js";
import { BASE_IMAGE, copyFixture, docker, engine, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";
import { eventually } from "../support/eventually.js";
import { predictAt } from "../support/http.js";

const hasEngine = await engineAvailable();

describe.runIf(hasEngine)("the dev image's restart supervisor", () => {
  const repository = uniqueName("mlkube-test-live");
  const shellRepository = uniqueName("mlkube-test-live-sh");
  const containers: Dockerode.Container[] = [];
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let base: { imageId: string; repository: string; tag: string };
  let dev: DevLayerResult;
  let originalApp: string;
  const timings: Record<"warm fork" | "re-exec", number[]> = { "warm fork": [], "re-exec": [] };

  beforeAll(async () => {
    fixture = await copyFixture();
    originalApp = await readFile(join(fixture.dir, "app.py"), "utf8");
    const builder = new ImageBuilder(engine);
    const built = await builder.build({ contextDir: fixture.dir, dockerfile: join(fixture.dir, "Dockerfile"), buildArgs: { BASE_IMAGE }, repository });
    base = { imageId: built.imageId, repository, tag: built.tag };
    // Built as `mlkube dev` builds it: with BuildKit's CLI (the sh-supervisor test below takes the classic builder).
    const buildkit = await builder.buildkit();
    expect(buildkit).toBeDefined();
    dev = await addDevLayer(docker, base, { buildkit });
  });
  afterAll(async () => {
    for (const container of containers) await container.remove({ force: true }).catch(() => undefined);
    await removeRepository(repository);
    await removeRepository(shellRepository);
    await fixture.cleanup();
    for (const [method, samples] of Object.entries(timings)) {
      if (samples.length > 0)
        console.log(`restart to first answer by ${method}: ${samples.map((ms) => `${ms.toFixed(0)} ms`).join(", ")} (median ${median(samples).toFixed(0)} ms)`);
    }
  });

  it("adds one layer with the supervisor, keeps the image's user, workdir and ports, and reuses it", async () => {
    const [production, devImage] = await Promise.all([docker.getImage(base.imageId).inspect(), docker.getImage(dev.reference).inspect()]);
    expect(dev.reference).toMatch(new RegExp(`^${repository}:${base.tag}-live-[0-9a-f]{12}$`));
    expect(devImage.RootFS.Layers).toHaveLength((production.RootFS.Layers ?? []).length + 1);
    expect(devImage.Config.Entrypoint).toEqual(["/bin/sh", "/usr/local/lib/mlkube-live/start.sh"]);
    expect(devImage.Config.Cmd).toEqual(["python3", "app.py"]);
    expect(devImage.Config).toMatchObject({ User: "10001", WorkingDir: "/app", ExposedPorts: { "5000/tcp": {} } });
    // The production image is the one the user's Dockerfile makes, untouched.
    expect(production.Config.Entrypoint).toBeNull();
    expect(production.Config.Cmd).toEqual(["python3", "app.py"]);

    const again = await addDevLayer(docker, base);
    expect(again).toEqual({ ...dev, cached: true });
  });

  it("adds the layer with the session's builder: BuildKit records its own history comment, the classic builder none", async () => {
    const [top] = await docker.getImage(dev.reference).history();
    expect(top?.Comment).toBe("buildkit.dockerfile.v0");
    expect((await docker.getImage(dev.reference).inspect()).Config.Labels).toMatchObject({ "dev.mlkube.managed": "true", "dev.mlkube.live": "true" });
  });

  it("restarts the Flask server by warm fork on kill -HUP 1, serving the changed app.py", async () => {
    const server = await runDev(dev.reference);
    expect(await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100)).toEqual({ status: 200, body: { prediction: [0] } });
    // The parent imports what the first child imported (numpy, sklearn, flask) once it settles.
    const warm = await eventually(
      async () => {
        const state = await server.state();
        expect(state.warmModules).toBeGreaterThan(100);
        return state;
      },
      30_000,
      200,
    );
    expect(warm).toMatchObject({ supervisor: "python", mode: "warm-fork", generation: 1, running: true });
    // The libraries the server used, never the project's own module.
    const learned = JSON.parse(await execInContainer(docker, server.id, ["cat", `${LIVE_STATE_DIR}/modules.json`])) as string[];
    expect(learned).toEqual(expect.arrayContaining(["flask", "numpy", "sklearn.linear_model"]));
    expect(learned).not.toContain("app");

    for (let marker = 1; marker <= 3; marker++) {
      await server.copyApp(appAnswering(originalApp, marker));
      timings["warm fork"].push(await server.restartUntil(marker));
    }
    const state = await server.state();
    expect(state).toMatchObject({ mode: "warm-fork", generation: 4, restarts: 3, running: true, lastRestart: { method: "warm-fork", reason: "SIGHUP" } });
    expect(state.lastExit).toMatchObject({ generation: 3, requested: true });
    expect(await server.logs()).toMatch(/mlkube-supervisor: restarted app\.py by warm fork in \d+ ms/);
  });

  it("shows a broken app.py's death in its state, and serves again once it is fixed and restarted", async () => {
    const server = await runDev(dev.reference);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    await server.copyApp(`${originalApp}\ndef broken(:\n`);
    await docker
      .getContainer(server.id)
      .exec({ Cmd: [...RESTART_COMMAND] })
      .then((exec) => exec.start({}));
    const died = await eventually(
      async () => {
        const state = await server.state();
        expect(state).toMatchObject({ generation: 2, running: false, lastExit: { generation: 2, status: 1, requested: false } });
        return state;
      },
      20_000,
      100,
    );
    expect(died.lastExit!.afterSeconds).toBeLessThan(5);
    // A Python error is the code's fault, not the fork's: the next restart still forks.
    expect(died.mode).toBe("warm-fork");
    const logs = await server.logs();
    expect(logs).toContain("SyntaxError");
    expect(logs).toContain("waiting for the next restart (kill -HUP 1)");
    expect((await docker.getContainer(server.id).inspect()).State.Running).toBe(true);

    await server.copyApp(appAnswering(originalApp, 7));
    await server.restartUntil(7);
    expect(await server.state()).toMatchObject({ generation: 3, running: true, lastRestart: { method: "warm-fork" } });
  });

  it("falls back to re-exec, and says so, when warm-forked children crash natively at once", async () => {
    const server = await runDev(dev.reference);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    // Stands in for a library that is not fork-safe: it aborts in native code (SIGABRT, no Python
    // traceback) whenever it runs in a child forked from the supervisor.
    const forkUnsafe = `import os, sys\nif "supervisor.py" in " ".join(sys.orig_argv):\n    os.abort()\n${appAnswering(originalApp, 9)}`;
    await server.copyApp(forkUnsafe);
    await server.restartUntil(9);
    const state = await server.state();
    expect(state).toMatchObject({
      mode: "re-exec",
      modeReason: "warm-forked children died at once 2 times in a row",
      running: true,
      lastRestart: { method: "re-exec" },
    });
    expect(state.lastExit).toMatchObject({ signal: "SIGABRT", requested: false });
    expect(await server.logs()).toContain("mlkube-supervisor: falling back to re-exec: warm-forked children died at once 2 times in a row");
  });

  it("warm-forks `python3 -m flask run` and a console script (`flask run`) alike", async () => {
    for (const cmd of [
      ["python3", "-m", "flask", "--app", "app", "run", "--host", "0.0.0.0"],
      ["flask", "--app", "app", "run", "--host", "0.0.0.0"],
    ]) {
      await server(cmd);
    }
    async function server(cmd: string[]) {
      const running = await runDev(dev.reference, [], cmd);
      await eventually(() => predictAt(running.url, undefined, 1_000), 30_000, 100);
      await eventually(async () => expect((await running.state()).warmModules).toBeGreaterThan(100), 30_000, 200);
      await running.copyApp(appAnswering(originalApp, 5));
      await running.restartUntil(5);
      expect(await running.state()).toMatchObject({ mode: "warm-fork", lastRestart: { method: "warm-fork" } });
      expect(await running.logs()).toMatch(new RegExp(`restarted ${cmd[0] === "flask" ? "flask" : "-m flask"} by warm fork in \\d+ ms`));
    }
  });

  it("reaps orphans re-parented to it, as PID 1 must", async () => {
    const server = await runDev(dev.reference);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    // The exec'd shell exits at once; its background sleep is re-parented to PID 1 and ends soon after.
    await execInContainer(docker, server.id, ["sh", "-c", "sleep 0.3 & echo $! > /tmp/orphan"]);
    const orphan = (await execInContainer(docker, server.id, ["cat", "/tmp/orphan"])).trim();
    await eventually(
      async () => {
        const status = await execInContainer(docker, server.id, ["sh", "-c", `cat /proc/${orphan}/status 2>/dev/null || echo gone`]);
        expect(status.trim()).toBe("gone"); // a zombie would still have a /proc entry, in state Z
      },
      10_000,
      100,
    );
  });

  it("tells which commands it can warm-fork, and why not the others", async () => {
    const cases: [string[], string][] = [
      [["python3", "app.py"], "script app.py"],
      [["python3", "-u", "-B", "app.py", "--port", "5000"], "script app.py"],
      [["/bin/sh", "-c", "exec python3 app.py"], "script app.py"],
      [["python3", "-m", "flask", "run"], "module flask"],
      [["flask", "run"], "script /usr/bin/flask"],
      [["python3", "-X", "dev", "app.py"], "re-exec: the python option -X"],
      [["python3", "-c", "print(1)"], "re-exec: the python option -c"],
      [["/bin/sh", "-c", "FOO=1 python3 app.py"], "re-exec: a shell-form command with shell syntax"],
      [["/bin/sh", "-c", "python3 app.py && echo done"], "re-exec: a shell-form command with shell syntax"],
      [["nginx", "-g", "daemon off;"], "re-exec: nginx is not a Python command"],
    ];
    const probe = [
      "import json, sys",
      "sys.path.insert(0, '/usr/local/lib/mlkube-live')",
      "from supervisor import Launch",
      "for argv in json.loads(sys.argv[1]):",
      "    launch = Launch(argv)",
      "    print(('re-exec: ' + launch.no_fork_reason) if launch.no_fork_reason else ('module ' + launch.module) if launch.module else ('script ' + launch.script))",
    ].join("\n");
    const container = await docker.createContainer({
      Image: dev.reference,
      Entrypoint: ["python3", "-c", probe, JSON.stringify(cases.map(([argv]) => argv))],
      Cmd: [],
    });
    containers.push(container);
    await container.start();
    await container.wait();
    const output = (await readAll(demuxedLogs((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer))).toString("utf8");
    expect(output.trim().split("\n")).toEqual(cases.map(([, expected]) => expected));
  });

  it("forwards SIGTERM: docker stop ends the container at once, with the server's status", async () => {
    const server = await runDev(dev.reference);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    const started = Date.now();
    await docker.getContainer(server.id).stop({ t: 10 });
    expect(Date.now() - started).toBeLessThan(3_000);
    // Flask dies of the SIGTERM: 128 + 15, as a shell reports it.
    expect((await docker.getContainer(server.id).inspect()).State.ExitCode).toBe(143);
  });

  it(`re-execs the command with ${RESTART_POLICY_ENV}=process`, async () => {
    const server = await runDev(dev.reference, [`${RESTART_POLICY_ENV}=process`]);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    for (let marker = 1; marker <= 3; marker++) {
      await server.copyApp(appAnswering(originalApp, marker));
      timings["re-exec"].push(await server.restartUntil(marker));
    }
    expect(await server.state()).toMatchObject({
      supervisor: "python",
      mode: "re-exec",
      modeReason: "restart: process",
      warmModules: 0,
      lastRestart: { method: "re-exec" },
    });
    expect(await server.logs()).toMatch(/mlkube-supervisor: restarted app\.py by re-exec \(restart: process\) in \d+ ms/);
    expect(median(timings["warm fork"])).toBeLessThan(median(timings["re-exec"]));
  });

  it(`forwards SIGHUP to the server with ${RESTART_POLICY_ENV}=none instead of restarting it`, async () => {
    const server = await runDev(dev.reference, [`${RESTART_POLICY_ENV}=none`]);
    await eventually(() => predictAt(server.url, undefined, 1_000), 30_000, 100);
    expect(await server.state()).toMatchObject({ policy: "none", mode: "re-exec", generation: 1 });
    await docker
      .getContainer(server.id)
      .exec({ Cmd: [...RESTART_COMMAND] })
      .then((exec) => exec.start({}));
    // Flask does not handle SIGHUP, so it dies of it, and the container ends with it: 128 + 1.
    const { StatusCode } = (await docker.getContainer(server.id).wait()) as { StatusCode: number };
    expect(StatusCode).toBe(129);
    expect(await server.logs()).not.toContain("restarted");
  });

  it("runs a command that is not Python under the sh supervisor, which re-execs it on HUP", async () => {
    const dir = join(fixture.dir, "shell-server");
    await import("node:fs/promises").then(({ mkdir }) => mkdir(dir));
    await writeFile(join(dir, "Dockerfile"), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nUSER 10001\nCMD while :; do echo "tick $$"; sleep 0.2; done\n');
    const built = await new ImageBuilder(engine).build({
      contextDir: dir,
      dockerfile: join(dir, "Dockerfile"),
      buildArgs: { BASE_IMAGE },
      repository: shellRepository,
    });
    const shellDev = await addDevLayer(docker, { imageId: built.imageId, repository: shellRepository, tag: built.tag }); // the classic builder
    expect((await docker.getImage(shellDev.reference).inspect()).Config.Cmd).toEqual(["/bin/sh", "-c", 'while :; do echo "tick $$"; sleep 0.2; done']);
    expect((await docker.getImage(shellDev.reference).history())[0]?.Comment).not.toBe("buildkit.dockerfile.v0");

    const server = await runDev(shellDev.reference);
    const first = await eventually(() => server.state(), 10_000, 100);
    expect(first).toMatchObject({ supervisor: "sh", mode: "re-exec", modeReason: "not a Python command", generation: 1, running: true });
    await docker
      .getContainer(server.id)
      .exec({ Cmd: [...RESTART_COMMAND] })
      .then((exec) => exec.start({}));
    const restarted = await eventually(
      async () => {
        const state = await server.state();
        expect(state).toMatchObject({
          generation: 2,
          restarts: 1,
          running: true,
          lastRestart: { method: "re-exec" },
          lastExit: { pid: first.childPid, requested: true },
        });
        return state;
      },
      10_000,
      100,
    );
    expect(restarted.childPid).not.toBe(first.childPid);
    const logs = await server.logs();
    expect(logs).toMatch(/mlkube-supervisor: restarted sh -c by re-exec \(not a Python command\) in \d+ ms/);
    expect(logs).toContain(`tick ${restarted.childPid}`);

    const started = Date.now();
    await docker.getContainer(server.id).stop({ t: 10 });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  /** Runs a dev image with port 5000 published on 127.0.0.1 only. */
  async function runDev(image: string, env: string[] = [], cmd?: string[]) {
    const container = await docker.createContainer({
      Image: image,
      ...(cmd ? { Cmd: cmd } : {}),
      name: uniqueName("mlkube-test-live"),
      Env: env,
      ExposedPorts: { "5000/tcp": {} },
      HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
    });
    containers.push(container);
    await container.start();
    const port = (await container.inspect()).NetworkSettings.Ports["5000/tcp"]?.[0]?.HostPort;
    const url = `http://127.0.0.1:${port}`;
    return {
      id: container.id,
      url,
      state: async () => JSON.parse(await execInContainer(docker, container.id, ["cat", LIVE_STATE_FILE])) as SupervisorState,
      logs: async () => (await readAll(demuxedLogs((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer))).toString("utf8"),
      /** Puts app.py into /app as a sync would (owned by root, readable by the image's user). */
      copyApp: async (text: string) => {
        await writeFile(join(fixture.dir, "app.py"), text);
        const tar = new PassThrough();
        tarFs.pack(fixture.dir, { entries: ["app.py"], map: (header) => ({ ...header, uid: 0, gid: 0 }) }).pipe(tar);
        await container.putArchive(tar, { path: "/app" });
      },
      /** Signals a restart and returns the ms until the server answers with `marker`. */
      restartUntil: async (marker: number) => {
        const started = performance.now();
        const exec = await container.exec({ Cmd: [...RESTART_COMMAND] });
        await exec.start({});
        await eventually(
          async () => {
            const answer = await predictAt(url, undefined, 1_000);
            expect(answer.body).toMatchObject({ marker });
          },
          20_000,
          5,
        );
        return performance.now() - started;
      },
    };
  }
});

/** The fixture's app.py answering predictions with an extra `marker`, so each version is recognisable. */
function appAnswering(app: string, marker: number): string {
  const changed = app.replace(
    'return jsonify({"prediction": [int(value) for value in prediction]})',
    `return jsonify({"prediction": [int(value) for value in prediction], "marker": ${marker}})`,
  );
  if (changed === app) throw new Error("the fixture's app.py no longer has the line this test edits");
  return changed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
