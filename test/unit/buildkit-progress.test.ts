import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildkitFailure } from "../../src/adapters/docker/buildkit-errors.js";
import { PlainProgressReader, type BuildStep, type ProgressEvent } from "../../src/adapters/docker/buildkit-progress.js";
import { readInstructions } from "../../src/adapters/docker/dockerfile-check.js";

const fixture = (name: string) => readFileSync(new URL(`fixtures/buildkit/${name}.txt`, import.meta.url), "utf8");

function readAll(text: string): { reader: PlainProgressReader; events: ProgressEvent[] } {
  const reader = new PlainProgressReader();
  const events = text.split("\n").flatMap((line) => reader.read(line));
  return { reader, events };
}

const summary = (steps: BuildStep[]) => steps.map((step) => [step.name, step.status, step.ms]);

describe("BuildKit's plain progress, as Docker 20.10 prints it", () => {
  it("reads each step's name, stage, position, whether it was cached and its duration", () => {
    const { reader, events } = readAll(fixture("docker-20.10-multistage-secret"));
    expect(summary(reader.instructionSteps())).toEqual([
      ["[base 1/5] FROM docker.io/mlkube-test/python-sklearn:bookworm-2", "done", 0],
      ["[base 2/5] WORKDIR /app", "done", 0],
      ["[base 3/5] COPY app.py .", "done", 0],
      ["[base 4/5] RUN --mount=type=cache,target=/root/.cache/x sh -c 'ls /root/.cache/x; date > /root/.cache/x/stamp; echo $GREETING'", "done", 500],
      ["[base 5/5] RUN --mount=type=secret,id=tok sh -c 'test -f /run/secrets/tok && echo secret-present'", "done", 600],
      ["[final 1/1] RUN echo final", "done", 600],
    ]);
    expect(reader.instructionSteps()[3]).toMatchObject({ stage: "base", index: 4, total: 5, instruction: expect.stringMatching(/^RUN --mount=type=cache/) });
    expect(events.filter((event) => event.type === "output").map((event) => event.type === "output" && event.line)).toEqual(["hi", "secret-present", "final"]);
    // The vertex digests 20.10 prints are not output.
    expect(events.some((event) => event.type === "output" && event.line.startsWith("sha256:"))).toBe(false);
    expect(reader.all().find((step) => step.name === "[internal] load build definition from Dockerfile")?.bytes).toBe(370);
  });

  it("marks the steps a rebuild took from the cache", () => {
    const { reader } = readAll(fixture("docker-20.10-cached"));
    const statuses = reader.instructionSteps().map((step) => step.status);
    expect(statuses).toEqual(["done", "cached", "cached", "cached", "cached", "cached"]);
  });

  it("emits one event per change of a step: started, then cached or done", () => {
    const { events } = readAll(fixture("docker-20.10-cached"));
    const workdir = events.filter((event) => event.type === "step" && event.step.name === "[base 2/5] WORKDIR /app").map((event) => event.step.status);
    expect(workdir).toEqual(["running", "cached"]);
  });

  it("splits a RUN's last output from the status it ran into", () => {
    const reader = new PlainProgressReader();
    reader.read("#4 [2/2] RUN --mount=type=secret,id=tok cat /run/secrets/tok");
    const events = reader.read("#4 0.337 fromenv#4 DONE 0.4s");
    expect(events.map((event) => (event.type === "output" ? event.line : event.step.status))).toEqual(["fromenv", "done"]);
    expect(reader.all()[0]?.ms).toBe(400);
  });
});

describe("BuildKit's plain progress, as buildx 0.13 prints it (recorded)", () => {
  it("reads the stages of a rebuild, BuildKit's names for unnamed ones included, and what came from the cache", () => {
    const { reader } = readAll(fixture("buildx-0.13-cached"));
    expect(summary(reader.instructionSteps())).toEqual([
      ["[base 1/4] FROM docker.io/mlkube-test/python-sklearn:bookworm-2", "done", 0],
      ["[base 2/4] WORKDIR /app", "cached", undefined],
      ["[base 3/4] COPY requirements.txt .", "cached", undefined],
      ["[base 4/4] RUN echo installing && sleep 0.2", "cached", undefined],
      ["[stage-1 1/1] COPY app.py .", "done", 0],
    ]);
    expect(reader.instructionSteps()[4]).toMatchObject({ stage: "stage-1", index: 1, total: 1, instruction: "COPY app.py ." });
    // buildx's own vertices (the stdin tar as a remote context, its copy, the export) are not instructions.
    expect(reader.all().map((step) => step.name)).toEqual(
      expect.arrayContaining(["[internal] load remote build context", "copy /context /", "exporting to image"]),
    );
  });

  it("locates a failing RUN of an unnamed stage by its text: the engine's BuildKit (20.10) gives buildx no line", () => {
    const dockerfile =
      "FROM mlkube-test/python-sklearn:bookworm-2\nWORKDIR /app\nCOPY requirements.txt .\n# dependencies, cached across builds\nRUN --mount=type=cache,target=/root/.cache/pip sh -c 'echo \"ERROR: No matching distribution found for scikit-learn==9.9.9\" >&2; exit 1'\n";
    const { reader, events } = readAll(fixture("buildx-0.13-run-fails"));
    const outputs = events.flatMap((event) => (event.type === "output" ? [event.line] : []));
    const error = buildkitFailure({
      reader,
      outputOf: () => outputs,
      instructions: readInstructions(dockerfile),
      dockerfileText: dockerfile,
      dockerfilePath: "Dockerfile",
      contextPath: "models/iris",
      mask: (text) => text,
    });
    expect(error.message).toMatch(
      /^Dockerfile line 5 \(RUN --mount=type=cache,target=\/root\/.cache\/pip sh -c .*\) failed: executor failed running .*exit code: 1$/,
    );
    expect(error.details).toEqual(["ERROR: No matching distribution found for scikit-learn==9.9.9"]);
    expect(error.hint).toMatch(/^The command at line 5 exited with code 1/);
  });

  it("locates a parse error from buildx's one-line summary", () => {
    const { reader } = readAll(fixture("buildx-0.13-parse-error"));
    const dockerfile = "FROM mlkube-test/python-sklearn:bookworm-2\nRUN echo ok\nCOPY app.py\n";
    const error = buildkitFailure({
      reader,
      outputOf: () => [],
      instructions: readInstructions(dockerfile),
      dockerfileText: dockerfile,
      dockerfilePath: "Dockerfile.bad",
      contextPath: "models/iris",
      mask: (text) => text,
    });
    expect(error.kind).toBe("dockerfile");
    expect(error.message).toBe("Dockerfile.bad:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
  });
});

describe("BuildKit's plain progress, as newer buildx prints it (written after its documented output, not recorded)", () => {
  it("reads steps, layer pull sizes and the failing step", () => {
    const { reader } = readAll(fixture("buildx-run-fails"));
    expect(summary(reader.instructionSteps())).toEqual([
      ["[1/4] FROM docker.io/library/python:3.12-slim@sha256:2b0079146a74e23bf4ae8f6a28e1b484c6292f6fb904cbb51825b4a19812fcd8", "done", 3200],
      ["[2/4] WORKDIR /app", "cached", undefined],
      ["[3/4] COPY requirements.txt .", "done", 0],
      ["[4/4] RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt", "failed", undefined],
    ]);
    expect(reader.instructionSteps()[0]?.bytes).toBe(29_130_000 + 3_510_000);
    expect(reader.all().find((step) => step.name === "[internal] load build context")?.bytes).toBe(1520);
  });
});

describe("a failed BuildKit build, located", () => {
  const mask = (text: string) => text;
  const failure = (name: string, dockerfile: string) => {
    const { reader, events } = readAll(fixture(name));
    const outputs = events.flatMap((event) => (event.type === "output" ? [[event.step.id, event.line] as const] : []));
    return buildkitFailure({
      reader,
      outputOf: (step) => outputs.filter(([id]) => id === step.id).map(([, line]) => line),
      instructions: readInstructions(dockerfile),
      dockerfileText: dockerfile,
      dockerfilePath: "Dockerfile",
      contextPath: "models/iris",
      mask,
    });
  };

  it("maps a failing RUN to its Dockerfile line by its text (Docker 20.10 prints no line)", () => {
    const error = failure(
      "docker-20.10-run-fails",
      "FROM mlkube-test/python-sklearn:bookworm-2\nWORKDIR /app\nRUN echo before\nRUN sh -c 'echo failing-output; exit 3'\n",
    );
    expect(error.kind).toBe("build");
    expect(error.message).toBe(
      "Dockerfile line 4 (RUN sh -c 'echo failing-output; exit 3') failed: executor failed running [/bin/sh -c sh -c 'echo failing-output; exit 3']: exit code: 3",
    );
    expect(error.details).toEqual(["failing-output"]);
    expect(error.hint).toBe(
      "The command at line 4 exited with code 3; its last output is shown above. Fix the command (or what it needs), then save to rebuild.",
    );
  });

  it("takes the line buildx prints, and does not blame a RUN --mount for the command's failure", () => {
    const error = failure(
      "buildx-run-fails",
      "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n# dependencies, cached across builds\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n",
    );
    expect(error.message).toMatch(
      /^Dockerfile line 5 \(RUN --mount=type=cache,target=\/root\/.cache\/pip pip install -r requirements.txt\) failed: process .* exit code: 1$/,
    );
    expect(error.details).toContain("ERROR: No matching distribution found for scikit-learn==9.9.9");
    expect(error.hint).toMatch(/^The command at line 5 exited with code 1/);
  });

  it("says a COPY source is missing from the context, not that the instruction is wrong", () => {
    const error = failure("docker-20.10-copy-missing", "FROM mlkube-test/python-sklearn:bookworm-2\nCOPY missing.txt /app/\n");
    expect(error.message).toBe('Dockerfile line 2 (COPY missing.txt /app/) failed: "/missing.txt" not found: not found');
    expect(error.hint).toBe("A source of the COPY at line 2 is not in the build context: paths are relative to models/iris, and .dockerignore may exclude it.");
  });

  it("locates a parse error at its line", () => {
    const error = failure("docker-20.10-parse-error-copy", "FROM x\nRUN echo ok\nCOPY\n");
    expect(error.kind).toBe("dockerfile");
    expect(error.message).toBe("Dockerfile:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
  });

  it("names a '# syntax=' frontend that cannot be pulled", () => {
    const error = failure("docker-20.10-syntax-unpullable", "# syntax=docker/dockerfile:1.4\nFROM x\nRUN echo hi\n");
    expect(error.message).toMatch(
      /^The Dockerfile frontend 'docker\/dockerfile:1.4' named by the '# syntax=' line of Dockerfile could not be pulled: failed to do request: Head/,
    );
    expect(error.hint).toMatch(/^The frontend image docker\/dockerfile:1.4 must be pullable .*or remove the '# syntax=' line/);
  });
});
