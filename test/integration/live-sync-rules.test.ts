// The inferred sync rules against the real engine: build an image the way mlkube does, then check
// that every place the rules say a context file lands holds exactly that file. This is what makes
// a sync safe: a wrong destination would leave the running server on the old file.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder } from "../../src/adapters/docker/build.js";
import { execInContainer } from "../../src/adapters/docker/container-exec.js";
import { planChange } from "../../src/core/live/plan-change.js";
import { inferSyncRules } from "../../src/core/live/sync-rules.js";
import { BASE_IMAGE, docker, engine, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const hasEngine = await engineAvailable();

const DOCKERFILE = [
  "ARG BASE_IMAGE",
  "FROM ${BASE_IMAGE} AS base",
  "ARG APP_DIR=/srv/app",
  "ENV CONF_DIR=conf",
  "WORKDIR ${APP_DIR}",
  'COPY ["model.pkl", "app.py", "./"]',
  "COPY src/ lib/",
  "COPY ${CONF_DIR}/*.yaml /etc/model/",
  "FROM ${BASE_IMAGE} AS tools",
  "COPY tools/ /tools/",
  "FROM base AS final",
  "WORKDIR ../v1",
  "COPY --chown=1000:1000 data /opt/data",
  "COPY notes.txt /opt/notes.md",
  "COPY app.py /srv",
  "COPY *.py ./bin/",
  "COPY . everything/",
  "",
].join("\n");

const FILES: Record<string, string> = {
  Dockerfile: DOCKERFILE,
  "app.py": "print('app')\n",
  "serve.py": "print('serve')\n",
  "model.pkl": "weights v1\n",
  "src/pkg/__init__.py": "",
  "src/pkg/util.py": "def util(): pass\n",
  "conf/a.yaml": "a: 1\n",
  "conf/b.yaml": "b: 2\n",
  "conf/readme.txt": "not a yaml file\n",
  "data/iris.csv": "5.1,3.5,1.4,0.2\n",
  "data/nested/more.csv": "6.2,3.4,5.4,2.3\n",
  "notes.txt": "notes\n",
  "tools/lint.sh": "echo lint\n",
};

describe.runIf(hasEngine)("inferred sync rules match where the engine puts files", () => {
  const repository = uniqueName("mlkube-test-sync");
  const buildArgs = { BASE_IMAGE, APP_DIR: "/srv/model" };
  let contextDir: string;
  let reference: string;

  beforeAll(async () => {
    contextDir = await mkdtemp(join(tmpdir(), "mlkube-sync-rules-"));
    for (const [file, content] of Object.entries(FILES)) {
      await mkdir(dirname(join(contextDir, file)), { recursive: true });
      await writeFile(join(contextDir, file), content);
    }
    const result = await new ImageBuilder(engine).build({ contextDir, dockerfile: join(contextDir, "Dockerfile"), buildArgs, repository });
    reference = result.reference;
  }, 120_000);

  afterAll(async () => {
    await removeRepository(repository);
    if (contextDir) await rm(contextDir, { recursive: true, force: true });
  });

  it("puts every file a rule covers at the path planChange gives", async () => {
    const { rules } = inferSyncRules(DOCKERFILE, { buildArgs });
    const plan = planChange({ changes: Object.keys(FILES).map((path) => ({ path, kind: "changed" })), rules });
    if (plan.kind !== "sync") throw new Error(`expected a sync, got a rebuild: ${plan.reason}`);

    const inImage = await readInImage(
      reference,
      plan.copies.map((copy) => copy.remote),
    );
    const expected = Object.fromEntries(
      await Promise.all(plan.copies.map(async (copy) => [copy.remote, await readFile(join(contextDir, copy.local), "utf8")] as const)),
    );
    expect(inImage).toEqual(expected);

    // The places that exercise Docker's rules, so a planner that forgot them cannot pass by luck.
    expect(plan.copies).toEqual(
      expect.arrayContaining([
        { local: "app.py", remote: "/srv/model/app.py" }, // JSON form, WORKDIR from a build arg
        { local: "app.py", remote: "/srv/app.py" }, // /srv is a directory: a parent of the WORKDIR
        { local: "src/pkg/util.py", remote: "/srv/model/lib/pkg/util.py" }, // a directory's contents
        { local: "conf/a.yaml", remote: "/etc/model/a.yaml" }, // a pattern with an ENV value
        { local: "data/nested/more.csv", remote: "/opt/data/nested/more.csv" }, // a directory to a path without a slash
        { local: "notes.txt", remote: "/opt/notes.md" }, // a file to a file path
        { local: "serve.py", remote: "/srv/v1/bin/serve.py" }, // relative WORKDIR, a pattern
        { local: "tools/lint.sh", remote: "/srv/v1/everything/tools/lint.sh" }, // the whole context
      ]),
    );
    // tools/ reaches the image only through "COPY . everything/": the tools stage is not built.
    expect(plan.copies.filter((copy) => copy.local === "tools/lint.sh")).toHaveLength(1);
  }, 60_000);
});

/** The content of each path in a container of the image; null where there is no file. */
async function readInImage(image: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const script =
    "import json, sys\ndef read(p):\n    try:\n        return open(p).read()\n    except OSError:\n        return None\nprint(json.dumps({p: read(p) for p in sys.argv[1:]}))";
  const container = await docker.createContainer({ Image: image, Cmd: ["sleep", "120"] });
  try {
    await container.start();
    return JSON.parse(await execInContainer(docker, container.id, ["python3", "-c", script, ...paths])) as Record<string, string | null>;
  } finally {
    await container.remove({ force: true });
  }
}
