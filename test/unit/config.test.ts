import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { loadConfig, nameFromDirectory, parseConfig } from "../../src/config/load.js";

const temporaryDirs: string[] = [];

/** A model directory with the given files, removed after the test. */
async function modelDir(files: Record<string, string>, name = "iris-model"): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), "mlkube-config-"));
  temporaryDirs.push(parent);
  const dir = join(parent, name);
  await mkdir(dir);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), content);
  }
  return dir;
}

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof UserError)) throw new Error(`expected a UserError, got ${String(error)}`);
  return error;
}

function parseError(text: string): UserError {
  try {
    parseConfig(text, "mlkube.yaml");
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

const DOCKERFILE = "FROM python:3.11-slim\nEXPOSE 8080\n";

describe("loadConfig defaults", () => {
  it("fills in every default for an empty mlkube.yaml", async () => {
    const dir = await modelDir({ Dockerfile: DOCKERFILE, "mlkube.yaml": "# nothing yet\n" });
    const config = await loadConfig(dir);
    expect(config).toEqual({
      dir,
      configFile: join(dir, "mlkube.yaml"),
      name: "iris-model",
      namespace: "default",
      image: { repository: "iris-model" },
      port: 8080,
      build: { context: dir, dockerfile: join(dir, "Dockerfile"), args: {}, secrets: [] },
      sync: { mode: "infer" },
      restart: "auto",
      allowPathsOutside: false,
      outsidePaths: [],
      // Nothing written: mlkube picks the NodePort and guesses no probe path (issue #16).
      service: { nodePort: 30080, pinned: false },
      unwrittenProbePaths: ["readiness", "liveness"],
      deploy: {
        replicas: 1,
        env: {},
        resources: { requests: {}, limits: {} },
        probes: {
          readiness: { path: "/", initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
          liveness: { path: "/", initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
        },
        rolloutTimeoutSeconds: 180,
      },
      cluster: { provider: "auto", name: "mlkube", registry: "auto", nodePorts: "30080-30084" },
      watch: { ignore: [], debounceMs: 100 },
      manifests: [],
      tests: [],
      requests: undefined,
    });
  });

  it("works with only a Dockerfile (zero configuration)", async () => {
    const dir = await modelDir({ Dockerfile: "FROM python:3.11\nEXPOSE 5000/tcp 9090\n" }, "My_Model.v2");
    const config = await loadConfig(dir);
    expect(config.configFile).toBeNull();
    expect(config.name).toBe("my-model-v2");
    expect(config.image.repository).toBe("my-model-v2");
    expect(config.port).toBe(5000);
    expect(config.build.dockerfile).toBe(join(dir, "Dockerfile"));
  });

  it("reads mlkube.yml too", async () => {
    const dir = await modelDir({ Dockerfile: DOCKERFILE, "mlkube.yml": "name: from-yml\n" });
    expect((await loadConfig(dir)).name).toBe("from-yml");
  });

  it("keeps explicit values, resolves paths against the model directory and normalizes quantities", async () => {
    const dir = await modelDir({
      Dockerfile: DOCKERFILE,
      "docker/Dockerfile.dev": DOCKERFILE,
      "k8s/service.yaml": "",
      "extra.yaml": "",
      "recorded.jsonl": "",
      "samples/one.json": "{}",
      "mlkube.yaml": [
        "name: iris",
        "allowPathsOutside: true # the build context is the parent directory",
        "port: 9000",
        "image: {repository: localhost:5001/team/iris}",
        "build: {context: .., dockerfile: docker/Dockerfile.dev, target: serve}",
        "deploy:",
        "  resources: {requests: {cpu: 0.5, memory: 256Mi}, limits: {cpu: 1, memory: 1G}}",
        "  probes: {liveness: {path: /healthz, periodSeconds: 30}}",
        "manifests: [k8s/, extra.yaml]",
        "requests: recorded.jsonl",
        "tests:",
        "  - path: /predict",
        "    bodyFile: samples/one.json",
        "  - path: /health",
        "    expect: {status: 204}",
        "  - {name: put, method: PUT, path: /x, body: [1, 2]}",
      ].join("\n"),
    });
    const config = await loadConfig(dir);
    expect(config.name).toBe("iris");
    expect(config.port).toBe(9000);
    expect(config.image.repository).toBe("localhost:5001/team/iris");
    expect(config.build).toEqual({ context: dirname(dir), dockerfile: join(dir, "docker/Dockerfile.dev"), args: {}, target: "serve", secrets: [] });
    expect(config.deploy.resources).toEqual({ requests: { cpu: "0.5", memory: "256Mi" }, limits: { cpu: "1", memory: "1G" } });
    expect(config.deploy.probes.liveness).toEqual({ path: "/healthz", initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 6 });
    expect(config.manifests).toEqual([join(dir, "k8s"), join(dir, "extra.yaml")]);
    expect(config.requests).toBe(join(dir, "recorded.jsonl"));
    expect(config.tests).toEqual([
      {
        name: "POST /predict",
        method: "POST",
        path: "/predict",
        headers: {},
        body: undefined,
        bodyFile: join(dir, "samples/one.json"),
        repeat: 1,
        expect: { status: 200, tolerance: 0 },
      },
      {
        name: "GET /health",
        method: "GET",
        path: "/health",
        headers: {},
        body: undefined,
        bodyFile: undefined,
        repeat: 1,
        expect: { status: 204, tolerance: 0 },
      },
      { name: "put", method: "PUT", path: "/x", headers: {}, body: [1, 2], bodyFile: undefined, repeat: 1, expect: { status: 200, tolerance: 0 } },
    ]);
  });

  it("does not need the Dockerfile when the port is set", async () => {
    const dir = await modelDir({ "mlkube.yaml": "port: 8000\n" });
    expect((await loadConfig(dir)).port).toBe(8000);
  });
});

describe("build arguments", () => {
  it("merges --build-arg over build.args, and uses them for ARG in EXPOSE", async () => {
    const dir = await modelDir({
      Dockerfile: "ARG PORT=8000\nFROM python:3.11\nARG PORT\nEXPOSE $PORT\n",
      "mlkube.yaml": 'build:\n  args: {PORT: "8500", MODEL: iris}\n',
    });
    const fromFile = await loadConfig(dir);
    expect(fromFile.build.args).toEqual({ PORT: "8500", MODEL: "iris" });
    expect(fromFile.port).toBe(8500);

    const overridden = await loadConfig(dir, { buildArgs: { PORT: "9100", EXTRA: "1" } });
    expect(overridden.build.args).toEqual({ PORT: "9100", MODEL: "iris", EXTRA: "1" });
    expect(overridden.port).toBe(9100);
  });
});

describe("names", () => {
  it.each([
    ["iris-model", "iris-model"],
    ["My_Model.v2", "my-model-v2"],
    ["--Fancy  Name--", "fancy-name"],
    ["modèle", "modele"],
    ["a".repeat(70), "a".repeat(63)],
    [`${"a".repeat(62)}-b`, "a".repeat(62)],
    ["___", "model"],
    ["3d-unet", "model-3d-unet"], // Service names must start with a letter
  ])("%s becomes %s", (directory, name) => {
    expect(nameFromDirectory(directory)).toBe(name);
  });
});

describe("configuration errors", () => {
  it("reports a wrong type at the value, with what was expected and found", () => {
    const error = parseError("deploy:\n  replicas: three\n");
    expect(error.kind).toBe("config");
    expect(error.message).toBe("mlkube.yaml has 1 error");
    expect(error.details).toEqual(['mlkube.yaml:2:13 deploy.replicas: expected a whole number >= 0, found "three"']);
    expect(error.hint).toContain("yaml-language-server: $schema=");
  });

  it("reports values out of range", () => {
    expect(parseError("service:\n  nodePort: 80\n").details).toEqual([
      "mlkube.yaml:2:13 service.nodePort: expected a whole number from 30000 to 32767, found 80",
    ]);
    expect(parseError("port: 70000\n").details).toEqual(["mlkube.yaml:1:7 port: expected a whole number from 1 to 65535, found 70000"]);
    expect(parseError("deploy: {replicas: -1}\n").details).toEqual(["mlkube.yaml:1:20 deploy.replicas: expected a whole number >= 0, found -1"]);
    for (const range of ["30080", "29000-29004", "30100-30000", "30000-30020"]) {
      expect(parseError(`cluster:\n  nodePorts: "${range}"\n`).details).toEqual([
        `mlkube.yaml:2:14 cluster.nodePorts: expected a NodePort range FIRST-LAST within 30000-32767, at most 20 ports, such as "30180-30184", found "${range}"`,
      ]);
    }
  });

  it("reports an unknown key at the key itself and suggests the closest known key", () => {
    const error = parseError("deploy:\n  replica: 2\n");
    expect(error.details).toEqual(["mlkube.yaml:2:3 deploy.replica: unknown key, did you mean `replicas`?"]);
  });

  it("lists the allowed keys when nothing is close", () => {
    const error = parseError("service:\n  banana: 1\n");
    expect(error.details).toEqual(["mlkube.yaml:2:3 service.banana: unknown key; the keys allowed here are `nodePort`"]);
  });

  it("reports an invalid enum value with the options and a suggestion", () => {
    const error = parseError("cluster:\n  provider: kinde\n");
    expect(error.details).toEqual([
      'mlkube.yaml:2:13 cluster.provider: expected one of "auto", "kind", "minikube", "context", found "kinde" (did you mean "kind"?)',
    ]);
  });

  it("reports Kubernetes quantities, names and registries that do not parse", () => {
    const error = parseError(
      ["name: Iris_Model", "deploy:", "  resources:", "    limits: {memory: 256MB, cpu: true}", "cluster: {registry: 'bad host!'}"].join("\n"),
    );
    expect(error.details).toEqual([
      'mlkube.yaml:1:7 name: expected a DNS-1035 label (starts with a lowercase letter; then letters, digits and "-", at most 63 characters, e.g. "iris-model"), found "Iris_Model"',
      'mlkube.yaml:4:22 deploy.resources.limits.memory: expected a Kubernetes quantity such as "500m", "1", "256Mi" or "1G", found "256MB"',
      'mlkube.yaml:4:34 deploy.resources.limits.cpu: expected a Kubernetes quantity such as "500m", "1", "256Mi" or "1G", found true',
      'mlkube.yaml:5:21 cluster.registry: expected "auto", "off", or a registry address host[:port] such as "localhost:5001", found "bad host!"',
    ]);
  });

  it("shows numbers as written and says to quote them where a string is expected", () => {
    const error = parseError("build:\n  args:\n    PYTHON_VERSION: 3.10\n");
    expect(error.details).toEqual(["mlkube.yaml:3:21 build.args.PYTHON_VERSION: expected a string, found 3.10 (put it in quotes to make it a string)"]);
  });

  it("reports YAML syntax errors with line and column", () => {
    const error = parseError("name: iris\ndeploy:\n  replicas: [1\n  env: {}\n");
    expect(error.message).toBe("mlkube.yaml has 1 error");
    expect(error.details).toEqual(["mlkube.yaml:4:3 Flow sequence in block collection must be sufficiently indented and end with a ]"]);
    expect(error.hint).toMatch(/YAML syntax/);
    expect(parseError("name: iris\nport: a: 1\n").details).toEqual(["mlkube.yaml:2:7 Nested mappings are not allowed in compact mappings"]);
  });

  it("reports duplicate keys as YAML errors", () => {
    expect(parseError("port: 1\nport: 2\n").details).toEqual(["mlkube.yaml:2:1 Map keys must be unique"]);
  });

  it("reports body and bodyFile together", () => {
    const error = parseError("tests:\n  - path: /predict\n    body: {x: 1}\n    bodyFile: sample.json\n");
    expect(error.details).toEqual(["mlkube.yaml:4:15 tests[0].bodyFile: set either `body` or `bodyFile`, not both"]);
  });

  it("reports every problem at once, in file order", () => {
    const error = parseError(
      [
        "cluster:",
        "  provider: kinde", // 2
        "deploy:",
        "  replica: 2", // 4
        "  replicas: three", // 5
        "tests:",
        "  - path: predict", // 7
        "    body: {x: 1}",
        "    bodyFile: x.json", // 9
        "    repeat: 0", // 10
        "    expect:",
        "      jsonPath: {'bad path': 1, 'prediction[0]': 1}", // 12
        "  - name: missing path", // 13
      ].join("\n"),
    );
    expect(error.message).toBe("mlkube.yaml has 8 errors");
    expect(error.details).toEqual([
      'mlkube.yaml:2:13 cluster.provider: expected one of "auto", "kind", "minikube", "context", found "kinde" (did you mean "kind"?)',
      "mlkube.yaml:4:3 deploy.replica: unknown key, did you mean `replicas`?",
      'mlkube.yaml:5:13 deploy.replicas: expected a whole number >= 0, found "three"',
      'mlkube.yaml:7:11 tests[0].path: expected a path starting with "/", found "predict"',
      "mlkube.yaml:9:15 tests[0].bodyFile: set either `body` or `bodyFile`, not both",
      "mlkube.yaml:10:13 tests[0].repeat: expected a whole number >= 1, found 0",
      'mlkube.yaml:12:18 tests[0].expect.jsonPath["bad path"]: the key "bad path" is not a path such as "prediction[0]" or "$.scores[1].label"',
      'mlkube.yaml:13:5 tests[1].path: required, expected a path starting with "/"',
    ]);
  });

  it("rejects a file that is not a mapping", () => {
    expect(parseError("- a\n- b\n").details).toEqual(["mlkube.yaml:1:1 expected a mapping (key: value), found a list"]);
  });

  it("names the file by its path relative to the working directory, or absolute outside it", async () => {
    const dir = await modelDir({ Dockerfile: DOCKERFILE, "mlkube.yaml": "port: web\n" });
    const error = await rejection(loadConfig(dir));
    expect(error.message).toBe(`${join(dir, "mlkube.yaml")} has 1 error`);
    expect(error.details).toEqual([`${join(dir, "mlkube.yaml")}:1:7 port: expected a whole number from 1 to 65535, found "web"`]);
  });
});

describe("missing pieces", () => {
  it("says so when no port is set or exposed", async () => {
    const dir = await modelDir({ Dockerfile: 'FROM python:3.11\nCMD ["python", "serve.py"]\n' });
    const error = await rejection(loadConfig(dir));
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/which port the model listens on: there is no mlkube\.yaml, and .*Dockerfile has no EXPOSE/);
    expect(error.hint).toMatch(/port: 8080.*mlkube\.yaml.*EXPOSE 8080/);
  });

  it("says so when mlkube.yaml sets no port and the Dockerfile exposes none", async () => {
    const dir = await modelDir({ Dockerfile: "FROM python:3.11\n", "mlkube.yaml": "name: iris\n" });
    const error = await rejection(loadConfig(dir));
    expect(error.message).toMatch(/mlkube\.yaml sets no port:, and .*Dockerfile has no EXPOSE/);
  });

  it("explains a directory with neither Dockerfile nor mlkube.yaml", async () => {
    const dir = await modelDir({ "model.pkl": "" });
    const error = await rejection(loadConfig(dir));
    expect(error.kind).toBe("dockerfile");
    expect(error.message).toMatch(/has no Dockerfile and no mlkube\.yaml/);
  });

  it("names the configured Dockerfile when it is missing, at its line and column", async () => {
    const dir = await modelDir({ "mlkube.yaml": "build: {dockerfile: Dockerfile.gpu}\n" });
    const error = await rejection(loadConfig(dir));
    expect(error.kind).toBe("config");
    expect(error.details).toEqual([`${join(dir, "mlkube.yaml")}:1:21 build.dockerfile: "Dockerfile.gpu" does not exist (${join(dir, "Dockerfile.gpu")})`]);
  });

  it("names the default Dockerfile when mlkube.yaml sets none and it is missing", async () => {
    const dir = await modelDir({ "mlkube.yaml": "name: iris\n" });
    const error = await rejection(loadConfig(dir));
    expect(error.kind).toBe("dockerfile");
    expect(error.message).toMatch(/Dockerfile does not exist \(the default build\.dockerfile; .*mlkube\.yaml sets none\)\.$/);
  });

  it("rejects a model directory that does not exist", async () => {
    const error = await rejection(loadConfig("/nonexistent/mlkube/model"));
    expect(error.kind).toBe("usage");
    expect(error.message).toBe("/nonexistent/mlkube/model does not exist.");
  });

  it("refuses to guess between mlkube.yaml and mlkube.yml", async () => {
    const dir = await modelDir({ Dockerfile: DOCKERFILE, "mlkube.yaml": "", "mlkube.yml": "" });
    expect((await rejection(loadConfig(dir))).message).toMatch(/has both mlkube\.yaml and mlkube\.yml/);
  });
});

describe("YAML aliases", () => {
  it("expands anchors and reports an unknown one as a config error", () => {
    expect(parseConfig("deploy: {env: &env {A: '1'}}\nbuild: {args: *env}\n", "mlkube.yaml").build.args).toEqual({ A: "1" });
    expect(parseError("build: {args: *nope}\n").details).toEqual(["mlkube.yaml:1:1 Unresolved alias (the anchor must be set before the alias): nope"]);
  });
});

describe("paths in mlkube.yaml (issue 17.5)", () => {
  const DOCKERFILE_5000 = "FROM python:3.11-slim\nEXPOSE 5000\n";
  interface Row {
    name: string;
    yaml: string;
    files?: Record<string, string>;
    /** Beside the model directory: what a path that escapes would reach. */
    outsideFiles?: Record<string, string>;
    /** Link name inside the model directory -> target, relative to the link. */
    symlinks?: Record<string, string>;
    /** Expected located errors, `{dir}` and `{file}` standing for the model directory and mlkube.yaml. */
    errors?: string[];
    hint?: RegExp;
    /** Expected located lines of the paths allowPathsOutside lets out. */
    outside?: string[];
  }
  const rows: Row[] = [
    {
      name: "a build context that climbs out to /etc",
      yaml: "build:\n  context: ../../../../../../../../../../etc\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      errors: ['{file}:2:12 build.context: "../../../../../../../../../../etc" resolves to /etc, outside the model directory {dir}'],
      hint: /inside the model directory .*allowPathsOutside: true/,
    },
    {
      name: "a Dockerfile and a manifest beside the model directory",
      yaml: "build:\n  dockerfile: ../Dockerfile\nmanifests:\n  - k8s\n  - ../shared.yaml\n",
      files: { Dockerfile: DOCKERFILE_5000, "k8s/service.yaml": "" },
      outsideFiles: { Dockerfile: DOCKERFILE_5000, "shared.yaml": "" },
      errors: [
        '{file}:2:15 build.dockerfile: "../Dockerfile" resolves to {parent}/Dockerfile, outside the model directory {dir}',
        '{file}:5:5 manifests[1]: "../shared.yaml" resolves to {parent}/shared.yaml, outside the model directory {dir}',
      ],
    },
    {
      name: "a symlink inside the directory that leads out of it",
      yaml: "build:\n  context: data\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      outsideFiles: { "elsewhere/big.bin": "" },
      symlinks: { data: "../elsewhere" },
      errors: ['{file}:2:12 build.context: "data" resolves to {parent}/elsewhere (through a symlink), outside the model directory {dir}'],
    },
    {
      name: "an absolute path to recorded requests",
      yaml: "requests: /etc/hostname\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      errors: ['{file}:1:11 requests: "/etc/hostname" resolves to /etc/hostname, outside the model directory {dir}'],
    },
    {
      name: "paths that do not exist",
      yaml: "build:\n  context: src\nmanifests: [k8s/]\ntests:\n  - path: /predict\n    bodyFile: bodies/setosa.json\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      errors: [
        '{file}:2:12 build.context: "src" does not exist ({dir}/src)',
        '{file}:3:13 manifests[0]: "k8s/" does not exist ({dir}/k8s)',
        '{file}:6:15 tests[0].bodyFile: "bodies/setosa.json" does not exist ({dir}/bodies/setosa.json)',
      ],
      hint: /Create what is missing, or correct the paths/,
    },
    {
      name: "a file where a directory belongs",
      yaml: "build:\n  context: Dockerfile\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      errors: ['{file}:2:12 build.context: "Dockerfile" is a file; expected a directory'],
    },
    {
      name: "paths inside, through a symlink that stays inside too",
      yaml: "build:\n  context: app\n  dockerfile: docker/Dockerfile\nmanifests: [k8s]\nrequests: recorded.jsonl\ntests:\n  - path: /predict\n    bodyFile: bodies/a.json\n",
      files: { "app/app.py": "", "docker/Dockerfile": DOCKERFILE_5000, "k8s/svc.yaml": "", "recorded.jsonl": "", "bodies/a.json": "{}" },
      symlinks: { "app/model": "../bodies" },
      outside: [],
    },
    {
      name: "sync sources that do not exist or leave the model directory, and a pattern's fixed part",
      yaml: "sync:\n  - { src: app.py, dest: /app/ }\n  - { src: ../secrets/, dest: /etc/ }\n  - { src: conf/*.yaml, dest: /etc/model/ }\n  - { src: '*.py', dest: /app/ }\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      outsideFiles: { "secrets/key": "" },
      errors: [
        '{file}:2:12 sync[0].src: "app.py" does not exist ({dir}/app.py)',
        '{file}:3:12 sync[1].src: "../secrets/" resolves to {parent}/secrets, outside the model directory {dir}',
        '{file}:4:12 sync[2].src: "conf" does not exist ({dir}/conf)',
      ],
    },
    {
      name: "paths outside with allowPathsOutside: true",
      yaml: "allowPathsOutside: true\nbuild:\n  context: ../shared\n",
      files: { Dockerfile: DOCKERFILE_5000 },
      outsideFiles: { "shared/requirements.txt": "" },
      outside: ['{file}:3:12 build.context: "../shared" resolves to {parent}/shared, outside the model directory {dir}'],
    },
  ];

  it.each(rows)("$name", async (row) => {
    const dir = await modelDir({ ...row.files, "mlkube.yaml": row.yaml });
    const parent = dirname(dir);
    for (const [file, content] of Object.entries(row.outsideFiles ?? {})) {
      await mkdir(dirname(join(parent, file)), { recursive: true });
      await writeFile(join(parent, file), content);
    }
    for (const [link, target] of Object.entries(row.symlinks ?? {})) await symlink(target, join(dir, link));
    const real = await realpath(dir);
    const expand = (line: string) => line.replaceAll("{file}", join(dir, "mlkube.yaml")).replaceAll("{dir}", real).replaceAll("{parent}", dirname(real));
    if (row.errors) {
      const error = await rejection(loadConfig(dir));
      expect(error.kind).toBe("config");
      expect(error.message).toBe(`${join(dir, "mlkube.yaml")} has ${row.errors.length === 1 ? "1 error" : `${row.errors.length} errors`}`);
      expect(error.details).toEqual(row.errors.map(expand));
      if (row.hint) expect(error.hint).toMatch(row.hint);
    } else {
      const config = await loadConfig(dir);
      expect(config.outsidePaths).toEqual((row.outside ?? []).map(expand));
    }
  });

  it("takes allowPathsOutside as true or false only", () => {
    expect(parseError("allowPathsOutside: yes please\n").details).toEqual(['mlkube.yaml:1:20 allowPathsOutside: expected true or false, found "yes please"']);
  });
});

describe("live update: sync and restart", () => {
  const DOCKERFILE_5000 = "FROM python:3.11-slim\nEXPOSE 5000\n";

  it("infers the rules and lets mlkube choose how to restart when mlkube.yaml says nothing (and without mlkube.yaml)", async () => {
    const withFile = await loadConfig(await modelDir({ Dockerfile: DOCKERFILE_5000, "mlkube.yaml": "name: iris\n" }));
    const without = await loadConfig(await modelDir({ Dockerfile: DOCKERFILE_5000 }));
    for (const config of [withFile, without]) {
      expect(config.sync).toEqual({ mode: "infer" });
      expect(config.restart).toBe("auto");
    }
  });

  it("turns live update off with sync: false, and reads restart", async () => {
    const config = await loadConfig(await modelDir({ Dockerfile: DOCKERFILE_5000, "mlkube.yaml": "sync: false\nrestart: process\n" }));
    expect(config.sync).toEqual({ mode: "off" });
    expect(config.restart).toBe("process");
  });

  it("resolves rule sources against the build context and keeps a destination directory's slash", async () => {
    const dir = await modelDir({
      "docker/Dockerfile": DOCKERFILE_5000,
      "app/serve.py": "",
      "app/conf/a.yaml": "",
      "mlkube.yaml": [
        "build: { context: app, dockerfile: docker/Dockerfile }",
        "sync:",
        "  - { src: app/serve.py, dest: /srv/serve.py }",
        "  - { src: app/conf/, dest: /etc/model/. }",
        "  - { src: 'app/*.py', dest: /srv/bin/../ }",
        "  - { src: app, dest: / }",
        "",
      ].join("\n"),
    });
    expect((await loadConfig(dir)).sync).toEqual({
      mode: "rules",
      rules: [
        { src: "serve.py", dest: "/srv/serve.py", origin: `${join(dir, "mlkube.yaml")} sync[0]` },
        { src: "conf", dest: "/etc/model/", origin: `${join(dir, "mlkube.yaml")} sync[1]` },
        { src: "*.py", dest: "/srv/", origin: `${join(dir, "mlkube.yaml")} sync[2]` },
        { src: ".", dest: "/", origin: `${join(dir, "mlkube.yaml")} sync[3]` },
      ],
    });
  });

  it("rejects a sync source outside the build context, where the image does not take files from", async () => {
    const dir = await modelDir({
      "app/Dockerfile": DOCKERFILE_5000,
      "notes.txt": "",
      "mlkube.yaml": "build:\n  context: app\n  dockerfile: app/Dockerfile\nsync:\n  - src: notes.txt\n    dest: /app/\n",
    });
    const error = await rejection(loadConfig(dir));
    expect(error.details).toEqual([
      `${join(dir, "mlkube.yaml")}:5:10 sync[0].src: "notes.txt" is outside the build context ${join(dir, "app")}, so it is not in the image`,
    ]);
    expect(error.hint).toMatch(/^Sync only files of the build context \(build.context\), or move them into it; src is relative to .*mlkube\.yaml\.$/);
  });

  it.each([
    ["sync: true\n", ["mlkube.yaml:1:7 sync: expected false, or a list of { src, dest } rules, found true"]],
    ["sync: app.py\n", ['mlkube.yaml:1:7 sync: expected false, or a list of { src, dest } rules, found "app.py"']],
    ["sync: [app.py]\n", ['mlkube.yaml:1:8 sync[0]: expected a mapping (key: value), found "app.py"']],
    ["sync:\n  - src: app.py\n", ['mlkube.yaml:2:5 sync[0].dest: required, expected an absolute container path such as "/app/" or "/app/model.pkl"']],
    [
      "sync:\n  - src: app.py\n    dest: app/\n  - src: ''\n    dest: /app/\n",
      [
        'mlkube.yaml:3:11 sync[0].dest: expected an absolute container path such as "/app/" or "/app/model.pkl", found "app/"',
        'mlkube.yaml:4:10 sync[1].src: expected a file, directory or pattern relative to mlkube.yaml, such as "app.py" or "src/", found ""',
      ],
    ],
    [
      "sync:\n  - src: app.py\n    dst: /app/\n",
      [
        'mlkube.yaml:2:5 sync[0].dest: required, expected an absolute container path such as "/app/" or "/app/model.pkl"',
        "mlkube.yaml:3:5 sync[0].dst: unknown key, did you mean `dest`?",
      ],
    ],
    [
      "sync:\n  - src: '*.py'\n    dest: /app/main.py\n",
      ['mlkube.yaml:3:11 sync[0].dest: a pattern can match several files, so dest must be a directory: end it with "/"'],
    ],
    ["restart: always\n", ['mlkube.yaml:1:10 restart: expected one of "auto", "process", "none", found "always"']],
    ["restart: proces\n", ['mlkube.yaml:1:10 restart: expected one of "auto", "process", "none", found "proces" (did you mean "process"?)']],
  ])("reports %j at the value", (yaml, details) => {
    expect(parseError(yaml).details).toEqual(details);
  });
});
