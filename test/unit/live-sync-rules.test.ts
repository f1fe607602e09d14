import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inferSyncRules, type InferOptions } from "../../src/core/live/sync-rules.js";

/** The rules as "src -> dest" lines: short to read in a table. */
function rulesOf(dockerfile: string, options: InferOptions = {}): string[] {
  return inferSyncRules(dockerfile, options).rules.map((rule) => `${rule.src} -> ${rule.dest}`);
}

describe("inferSyncRules: sources and destinations", () => {
  it.each([
    ["a file into WORKDIR with '.'", "FROM python\nWORKDIR /app\nCOPY app.py .\n", ["app.py -> /app/"]],
    ["a file to an absolute file path", "FROM python\nCOPY app.py /srv/main.py\n", ["app.py -> /srv/main.py"]],
    ["a file into a directory written with a slash", "FROM python\nCOPY app.py /srv/\n", ["app.py -> /srv/"]],
    ["several sources: the destination is a directory", "FROM python\nWORKDIR /app\nCOPY model.pkl app.py ./\n", ["model.pkl -> /app/", "app.py -> /app/"]],
    ["a directory source (its contents)", "FROM python\nCOPY src/ /app/src/\n", ["src -> /app/src/"]],
    ["the whole context", "FROM python\nWORKDIR /app\nCOPY . .\n", [". -> /app/"]],
    ["the whole context as ./", "FROM python\nCOPY ./ /app\n", [". -> /app"]],
    ["a glob", "FROM python\nWORKDIR /app\nCOPY *.py ./\n", ["*.py -> /app/"]],
    ["a glob in a subdirectory", "FROM python\nCOPY conf/*.yaml /etc/model/\n", ["conf/*.yaml -> /etc/model/"]],
    ["the JSON form", 'FROM python\nCOPY ["app.py", "model dir/", "/app/"]\n', ["app.py -> /app/", "model dir -> /app/"]],
    ["the JSON form over continued lines", 'FROM python\nCOPY ["app.py", \\\n  "/app/"]\n', ["app.py -> /app/"]],
    ["--chown, --chmod and --link", "FROM python\nCOPY --chown=10001:10001 --chmod=644 --link app.py /app/\n", ["app.py -> /app/"]],
    ["a continued shell-form line", "FROM python\nCOPY app.py \\\n   model.pkl \\\n   /app/\n", ["app.py -> /app/", "model.pkl -> /app/"]],
    ["ADD of a local file", "FROM python\nADD app.py /app/\n", ["app.py -> /app/"]],
    ["a source with a leading slash or '..' stays in the context", "FROM python\nCOPY /app.py ../lib/x.py /app/\n", ["app.py -> /app/", "lib/x.py -> /app/"]],
    ["a file to the root", "FROM python\nCOPY app.py /\n", ["app.py -> /"]],
  ])("%s", (_what, dockerfile, expected) => {
    expect(rulesOf(dockerfile)).toEqual(expected);
  });
});

describe("inferSyncRules: WORKDIR", () => {
  it.each([
    ["an absolute WORKDIR", "FROM python\nWORKDIR /srv/model\nCOPY app.py ./\n", ["app.py -> /srv/model/"]],
    ["a relative WORKDIR stacks on the previous one", "FROM python\nWORKDIR /srv\nWORKDIR model\nWORKDIR v1\nCOPY app.py .\n", ["app.py -> /srv/model/v1/"]],
    ["'..' in a WORKDIR", "FROM python\nWORKDIR /srv/a\nWORKDIR ../b\nCOPY app.py .\n", ["app.py -> /srv/b/"]],
    [
      "WORKDIR changing between copies",
      "FROM python\nWORKDIR /app\nCOPY app.py .\nWORKDIR /etc/model\nCOPY conf.yaml ./\n",
      ["app.py -> /app/", "conf.yaml -> /etc/model/"],
    ],
    [
      "a relative destination path",
      "FROM python\nWORKDIR /app\nCOPY static/ static/\nCOPY main.py bin/main.py\n",
      ["static -> /app/static/", "main.py -> /app/bin/main.py"],
    ],
    ["a WORKDIR without a slash is still a directory", "FROM python\nWORKDIR /app\nCOPY app.py /app\n", ["app.py -> /app/"]],
    ["a parent of the WORKDIR is a directory", "FROM python\nWORKDIR /srv/model\nCOPY app.py /srv\n", ["app.py -> /srv/"]],
    ["a directory an earlier copy created", "FROM python\nCOPY lib/ /opt/lib/\nCOPY extra.py /opt/lib\n", ["lib -> /opt/lib/", "extra.py -> /opt/lib/"]],
    ["WORKDIR from an ENV", "FROM python\nENV APP_HOME=/home/model\nWORKDIR $APP_HOME\nCOPY app.py .\n", ["app.py -> /home/model/"]],
    ["a quoted WORKDIR", 'FROM python\nWORKDIR "/app"\nCOPY app.py .\n', ["app.py -> /app/"]],
    ["FROM scratch starts at /", "FROM scratch\nCOPY app.py .\n", ["app.py -> /"]],
  ])("%s", (_what, dockerfile, expected) => {
    expect(rulesOf(dockerfile)).toEqual(expected);
  });

  it("needs the base image's WORKDIR for a relative destination before any absolute WORKDIR", () => {
    const dockerfile = "FROM python\nCOPY app.py .\nWORKDIR model\nCOPY model.pkl .\nWORKDIR /app\nCOPY serve.py .\n";
    expect(inferSyncRules(dockerfile, {})).toEqual({
      rules: [{ src: "serve.py", dest: "/app/", origin: "Dockerfile:6 COPY serve.py ." }],
      notes: [
        "Dockerfile:2 COPY app.py .: the destination is relative and the base image's working directory is unknown; add an absolute WORKDIR before it",
        "Dockerfile:4 COPY model.pkl .: the destination is relative and the base image's working directory is unknown; add an absolute WORKDIR before it",
      ],
    });
    expect(rulesOf(dockerfile, { baseWorkdir: "/usr/src" })).toEqual(["app.py -> /usr/src/", "model.pkl -> /usr/src/model/", "serve.py -> /app/"]);
    // docker image inspect says "" for an image without WORKDIR: that is the root.
    expect(rulesOf(dockerfile, { baseWorkdir: "" })).toEqual(["app.py -> /", "model.pkl -> /model/", "serve.py -> /app/"]);
  });
});

describe("inferSyncRules: variables", () => {
  it("says which WORKDIR is unknown when its variable has no value", () => {
    expect(inferSyncRules("FROM python\nWORKDIR /srv\nWORKDIR $APP_HOME\nWORKDIR model\nCOPY app.py .\n").notes).toEqual([
      "Dockerfile:5 COPY app.py .: the destination is relative and a variable in WORKDIR $APP_HOME has no value; add an absolute WORKDIR before it",
    ]);
  });

  it.each([
    ["an ARG default", "FROM python\nARG APP_DIR=/srv/app\nCOPY app.py ${APP_DIR}/\n", {}, ["app.py -> /srv/app/"]],
    [
      "a build arg over the default",
      "FROM python\nARG APP_DIR=/srv/app\nCOPY app.py $APP_DIR/\n",
      { buildArgs: { APP_DIR: "/opt/model" } },
      ["app.py -> /opt/model/"],
    ],
    ["a global ARG declared again in the stage", "ARG APP_DIR=/srv\nFROM python\nARG APP_DIR\nCOPY app.py $APP_DIR/\n", {}, ["app.py -> /srv/"]],
    ["an ENV in the source and destination", "FROM python\nENV CONF=conf\nWORKDIR /app\nCOPY ${CONF}/ ${CONF}/\n", {}, ["conf -> /app/conf/"]],
    ["a variable in the JSON form", 'FROM python\nARG DEST=/app/\nCOPY ["app.py", "${DEST}"]\n', {}, ["app.py -> /app/"]],
    ["a default in the reference", "FROM python\nARG DEST\nCOPY app.py ${DEST:-/fallback}/\n", {}, ["app.py -> /fallback/"]],
  ])("%s", (_what, dockerfile, options, expected) => {
    expect(rulesOf(dockerfile, options)).toEqual(expected);
  });

  it("gives no rule when a variable in a path has no value", () => {
    // A global ARG is not visible in a stage that does not declare it again.
    expect(inferSyncRules("ARG DEST=/app\nFROM python\nCOPY app.py $DEST/\n")).toEqual({
      rules: [],
      notes: ["Dockerfile:3 COPY app.py $DEST/: a variable in its paths has no value (give the ARG a default or pass --build-arg)"],
    });
  });
});

describe("inferSyncRules: what is not a sync source", () => {
  it.each([
    [
      "COPY --from a stage",
      "FROM python AS build\nRUN make\nFROM python\nCOPY --from=build /out/app /app/\n",
      "Dockerfile:4 COPY --from=build /out/app /app/: copies from another stage or image, not from the build context",
    ],
    [
      "COPY --from an image",
      "FROM python\nCOPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/\n",
      "Dockerfile:2 COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/: copies from another stage or image, not from the build context",
    ],
    [
      "ADD of a URL",
      "FROM python\nADD https://example.com/model.bin /models/\n",
      "Dockerfile:2 ADD https://example.com/model.bin /models/: https://example.com/model.bin is downloaded, not taken from the build context",
    ],
    [
      "ADD of a git repository",
      "FROM python\nADD git@github.com:org/repo.git /src/\n",
      "Dockerfile:2 ADD git@github.com:org/repo.git /src/: git@github.com:org/repo.git is downloaded, not taken from the build context",
    ],
    [
      "ADD of a tar archive",
      "FROM python\nADD weights.tar.gz /models/\n",
      "Dockerfile:2 ADD weights.tar.gz /models/: weights.tar.gz is an archive that ADD unpacks; a change to it rebuilds",
    ],
    [
      "ADD of a .tgz",
      "FROM python\nADD data.tgz /data/\n",
      "Dockerfile:2 ADD data.tgz /data/: data.tgz is an archive that ADD unpacks; a change to it rebuilds",
    ],
    [
      "a heredoc",
      "FROM python\nCOPY <<EOF /app/config.ini\n[server]\nEOF\n",
      "Dockerfile:2 COPY <<EOF /app/config.ini: inline content (heredoc), not files of the build context",
    ],
    [
      "COPY --parents",
      "FROM python\nCOPY --parents src/*/app.py /app/\n",
      "Dockerfile:2 COPY --parents src/*/app.py /app/: --parents is not modelled for sync; a change to these files rebuilds",
    ],
    [
      "a pattern copied to a file path",
      "FROM python\nCOPY *.py /app/main.py\n",
      "Dockerfile:2 COPY *.py /app/main.py: the pattern *.py is copied to a file path; a change to what it matches rebuilds",
    ],
  ])("%s", (_what, dockerfile, note) => {
    expect(inferSyncRules(dockerfile)).toEqual({ rules: [], notes: [note] });
  });

  it("copies a tar archive with COPY (COPY does not unpack)", () => {
    expect(rulesOf("FROM python\nCOPY weights.tar.gz /models/\n")).toEqual(["weights.tar.gz -> /models/"]);
  });

  it("keeps the usable sources of an instruction that also has unusable ones", () => {
    expect(inferSyncRules("FROM python\nADD app.py https://example.com/x.bin /app/\n")).toEqual({
      rules: [{ src: "app.py", dest: "/app/", origin: "Dockerfile:2 ADD app.py https://example.com/x.bin /app/" }],
      notes: ["Dockerfile:2 ADD app.py https://example.com/x.bin /app/: https://example.com/x.bin is downloaded, not taken from the build context"],
    });
  });
});

describe("inferSyncRules: stages", () => {
  const multiStage = [
    "FROM python:3.11 AS builder", // 1
    "WORKDIR /build", // 2
    "COPY requirements.txt .", // 3
    "RUN pip wheel -r requirements.txt -w /wheels", // 4
    "FROM python:3.11-slim AS base", // 5
    "WORKDIR /app", // 6
    "COPY --from=builder /wheels /wheels", // 7
    "COPY lib/ lib/", // 8
    "FROM base AS serve", // 9
    "COPY app.py .", // 10
    "FROM python:3.11-slim AS test", // 11
    "COPY tests/ /tests/", // 12
    "",
  ].join("\n");

  it("reads the last stage by default; copies into other stages are notes", () => {
    expect(inferSyncRules(multiStage)).toEqual({
      rules: [{ src: "tests", dest: "/tests/", origin: "Dockerfile:12 COPY tests/ /tests/" }],
      notes: [
        'Dockerfile:3 COPY requirements.txt .: copies into stage "builder", which the built image does not start from',
        'Dockerfile:7 COPY --from=builder /wheels /wheels: copies into stage "base", which the built image does not start from',
        'Dockerfile:8 COPY lib/ lib/: copies into stage "base", which the built image does not start from',
        'Dockerfile:10 COPY app.py .: copies into stage "serve", which the built image does not start from',
      ],
    });
  });

  it("reads the build.target stage and the stages it starts FROM, with their WORKDIR", () => {
    expect(inferSyncRules(multiStage, { target: "serve" })).toEqual({
      rules: [
        { src: "lib", dest: "/app/lib/", origin: "Dockerfile:8 COPY lib/ lib/" },
        { src: "app.py", dest: "/app/", origin: "Dockerfile:10 COPY app.py ." },
      ],
      notes: [
        'Dockerfile:3 COPY requirements.txt .: copies into stage "builder", which the built image does not start from',
        "Dockerfile:7 COPY --from=builder /wheels /wheels: copies from another stage or image, not from the build context",
        'Dockerfile:12 COPY tests/ /tests/: copies into stage "test", which the built image does not start from',
      ],
    });
  });

  it("matches the target and stage names case-insensitively", () => {
    expect(rulesOf("FROM python AS Base\nWORKDIR /app\nFROM BASE\nCOPY app.py .\n")).toEqual(["app.py -> /app/"]);
    expect(rulesOf(multiStage, { target: "SERVE" })).toEqual(["lib -> /app/lib/", "app.py -> /app/"]);
  });

  it("names an unknown target and the stages there are", () => {
    expect(inferSyncRules(multiStage, { target: "prod" })).toEqual({
      rules: [],
      notes: ['build.target "prod" is not a stage of Dockerfile (stages: builder, base, serve, test)'],
    });
  });

  it("says so when there is no FROM, naming the Dockerfile as given", () => {
    expect(inferSyncRules("# empty\n", { displayPath: "docker/Dockerfile.dev" })).toEqual({
      rules: [],
      notes: ["docker/Dockerfile.dev has no FROM instruction"],
    });
  });

  it("names the Dockerfile as given in origins", () => {
    expect(inferSyncRules("FROM python\nCOPY app.py /app/\n", { displayPath: "docker/Dockerfile.dev" }).rules).toEqual([
      { src: "app.py", dest: "/app/", origin: "docker/Dockerfile.dev:2 COPY app.py /app/" },
    ]);
  });
});

describe("inferSyncRules: the iris-sklearn fixture", () => {
  it("syncs model.pkl and app.py into /app", () => {
    const dockerfile = readFileSync(new URL("../../fixtures/iris-sklearn/Dockerfile", import.meta.url), "utf8");
    const { rules, notes } = inferSyncRules(dockerfile, { buildArgs: { BASE_IMAGE: "mlkube-test/python-sklearn:bookworm-2" } });
    expect(rules).toEqual([
      { src: "requirements.txt", dest: "/app/", origin: "Dockerfile:7 COPY requirements.txt ." },
      { src: "model.pkl", dest: "/app/", origin: "Dockerfile:13 COPY model.pkl app.py ./" },
      { src: "app.py", dest: "/app/", origin: "Dockerfile:13 COPY model.pkl app.py ./" },
    ]);
    expect(notes).toEqual([]);
  });
});
