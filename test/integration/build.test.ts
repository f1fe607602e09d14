import type { ContainerInfo } from "dockerode";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder, type BuildEvent, type BuildRequest } from "../../src/adapters/docker/build.js";
import { isUserError, UserError } from "../../src/errors.js";
import { BASE_IMAGE, copyFixture, docker, engine, engineAvailable, removeRepository, uniqueName } from "../support/engine.js";

const hasEngine = await engineAvailable();

// The classic builder stays the fallback where BuildKit cannot be used (test/integration/buildkit.test.ts
// covers BuildKit, the default): its step events, cache hits and errors are tested here.
describe.runIf(hasEngine)("image builds on the real Docker engine with the classic builder", () => {
  const repository = uniqueName("mlkube-test-build");
  let fixture: { dir: string; cleanup: () => Promise<void> };
  let builder: ImageBuilder;
  const request = (): BuildRequest => ({
    contextDir: fixture.dir,
    dockerfile: join(fixture.dir, "Dockerfile"),
    buildArgs: { BASE_IMAGE },
    repository,
  });

  beforeAll(async () => {
    fixture = await copyFixture();
    builder = new ImageBuilder(engine, undefined, { builder: "classic" });
  });
  afterAll(async () => {
    await removeRepository(repository);
    await fixture.cleanup();
  });

  it("builds the fixture into an image that serves predictions", async () => {
    const events: BuildEvent[] = [];
    const result = await builder.build(request(), { onEvent: (event) => events.push(event) });
    expect(events[0]).toEqual({ type: "builder", builder: "classic", detail: "classic builder, because the classic builder was asked for" });
    expect(result.cached).toBe(false);
    expect(result.reference).toMatch(new RegExp(`^${repository}:[0-9a-f]{16}$`));
    expect(result.totalSteps).toBeGreaterThan(5);
    expect(events.filter((event) => event.type === "step").map((event) => event.step)).toEqual(
      Array.from({ length: result.totalSteps }, (_, index) => index + 1),
    );
    expect(events.at(-1)).toMatchObject({ type: "context", files: 5 }); // Dockerfile, .dockerignore, app.py, model.pkl, requirements.txt

    const prediction = await predictWith(result.reference, [5.1, 3.5, 1.4, 0.2]);
    expect(prediction).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("recognises an unchanged context and does not rebuild", async () => {
    const first = await builder.build(request());
    const second = await builder.build(request());
    expect(second.cached).toBe(true);
    expect(second.reference).toBe(first.reference);
    expect(second.imageId).toBe(first.imageId);
  });

  it("gives an edit to app.py a new tag and rebuilds only the layers after it", async () => {
    const before = await builder.build(request());
    await appendFile(join(fixture.dir, "app.py"), "\n# an edit\n");
    const events: BuildEvent[] = [];
    const after = await builder.build(request(), { onEvent: (event) => events.push(event) });

    expect(after.cached).toBe(false);
    expect(after.tag).not.toBe(before.tag);
    const steps = events.filter((event): event is Extract<BuildEvent, { type: "step" }> => event.type === "step");
    const cacheHits = new Set(events.filter((event) => event.type === "cache-hit").map((event) => (event as { step: number }).step));
    const copyApp = steps.find((step) => step.instruction.includes("app.py"));
    expect(copyApp).toBeDefined();
    for (const step of steps) {
      // FROM and ARG steps print no cache line; every RUN/COPY before the app.py copy is a cache hit.
      if (step.step < copyApp!.step && /^(RUN|COPY)/.test(step.instruction)) expect(cacheHits.has(step.step)).toBe(true);
      if (step.step >= copyApp!.step) expect(cacheHits.has(step.step)).toBe(false);
    }
  });

  it("ignores changes to files .dockerignore excludes", async () => {
    const before = await builder.build(request());
    await appendFile(join(fixture.dir, "train.py"), "\n# notes\n");
    await mkdir(join(fixture.dir, "notebooks"), { recursive: true });
    await writeFile(join(fixture.dir, "notebooks/explore.ipynb"), "{}");
    const after = await builder.build(request());
    expect(after.cached).toBe(true);
    expect(after.reference).toBe(before.reference);
  });

  it("gives a different tag for different build arguments", async () => {
    const plain = await builder.build(request());
    const withArg = await builder.build({ ...request(), buildArgs: { BASE_IMAGE, EXTRA: "1" } });
    expect(withArg.tag).not.toBe(plain.tag);
  });

  it("reports a Dockerfile that does not parse with its line and column", async () => {
    const broken = await copyFixture(fixture.dir);
    try {
      const dockerfile = join(broken.dir, "Dockerfile");
      const typoLine = (await readFile(dockerfile, "utf8")).split("\n").length; // the line the append lands on
      await appendFile(dockerfile, "RUNN echo typo\n");
      const error = await builder
        .build({ ...request(), contextDir: broken.dir, dockerfile: join(broken.dir, "Dockerfile") })
        .catch((caught: unknown) => caught);
      expect(isUserError(error)).toBe(true);
      const userError = error as UserError;
      expect(userError.kind).toBe("dockerfile");
      expect(userError.details.join("\n")).toContain(`Dockerfile:${typoLine}:1 unknown instruction 'RUNN' (did you mean RUN?)`);
    } finally {
      await broken.cleanup();
    }
  });

  it("names the failing instruction and the engine's message when a step fails", async () => {
    const broken = await copyFixture(fixture.dir);
    try {
      await writeFile(join(broken.dir, "requirements.txt"), "scikit-learn==9.9.9\n");
      // No network here, so the pip fallback fails, as it would with a typo'd version offline.
      await writeFile(
        join(broken.dir, "Dockerfile"),
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nWORKDIR /app\nCOPY requirements.txt .\nRUN python3 -c "import sys; sys.exit(3)"\n`,
      );
      const error = await builder
        .build({ ...request(), contextDir: broken.dir, dockerfile: join(broken.dir, "Dockerfile") })
        .catch((caught: unknown) => caught);
      expect(isUserError(error)).toBe(true);
      const userError = error as UserError;
      expect(userError.kind).toBe("build");
      expect(userError.message).toMatch(/^Step 5\/\d+ \(Dockerfile line 5: RUN python3 -c .*\) failed: .*returned a non-zero code: 3/);
      expect(userError.hint).toMatch(/RUN instruction at line 5/);
      const images = await docker.listImages({ filters: JSON.stringify({ reference: [repository] }) });
      expect(images.every((image) => (image.RepoTags ?? []).every((tag) => !tag.includes("9.9.9")))).toBe(true);
    } finally {
      await broken.cleanup();
    }
  });

  it("does not blame a RUN --mount for the classic builder's lack of BuildKit", async () => {
    const mount = await copyFixture(fixture.dir);
    try {
      await writeFile(join(mount.dir, "Dockerfile"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN --mount=type=cache,target=/root/.cache/pip true\n");
      const error = (await builder
        .build({ ...request(), contextDir: mount.dir, dockerfile: join(mount.dir, "Dockerfile") })
        .catch((caught: unknown) => caught)) as UserError;
      expect(error.message).toMatch(/requires BuildKit/);
      expect(error.hint).toBe(
        "The Dockerfile is right: line 3's RUN --mount needs BuildKit, and mlkube builds with the classic builder here because the classic builder was asked for.",
      );
    } finally {
      await mount.cleanup();
    }
  });

  it("stops the engine's build when cancelled, leaving nothing tagged or running", async () => {
    const slow = await copyFixture(fixture.dir);
    const slowRepository = uniqueName("mlkube-test-cancel");
    try {
      const marker = uniqueName("cancel-marker");
      await writeFile(join(slow.dir, "Dockerfile"), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo ${marker} && sleep 60\n`);
      const controller = new AbortController();
      const started = Date.now();
      const building = builder.build(
        { ...request(), contextDir: slow.dir, dockerfile: join(slow.dir, "Dockerfile"), repository: slowRepository },
        {
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === "output" && event.line.includes(marker)) controller.abort();
          },
        },
      );
      const error = await building.catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: "cancelled" });
      expect(Date.now() - started).toBeLessThan(30_000);

      // The engine removes the step's container once it notices the client left.
      let leftovers: ContainerInfo[] = [];
      for (let attempt = 0; attempt < 40; attempt++) {
        leftovers = (await docker.listContainers({ all: true })).filter((container) => container.Command.includes(marker));
        if (leftovers.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(leftovers).toEqual([]);
      expect(await docker.listImages({ filters: JSON.stringify({ reference: [slowRepository] }) })).toEqual([]);
    } finally {
      await removeRepository(slowRepository);
      await slow.cleanup();
    }
  });
});

/** Runs the image as a user would (port published on 127.0.0.1 only) and POSTs one prediction. */
async function predictWith(reference: string, features: number[]): Promise<{ status: number; body: unknown }> {
  const container = await docker.createContainer({
    Image: reference,
    ExposedPorts: { "5000/tcp": {} },
    HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] }, AutoRemove: false },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const port = info.NetworkSettings.Ports["5000/tcp"]?.[0]?.HostPort;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ features }),
          // docker-proxy accepts the connection before the app listens and then holds it: without a
          // per-attempt timeout the first request can hang for good.
          signal: AbortSignal.timeout(1_000),
        });
        return { status: response.status, body: await response.json() };
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await container.remove({ force: true });
  }
}

describe.runIf(hasEngine)("large build contexts", () => {
  it("gives BuildKit a 1 GB model without holding it in memory, and sends it once: an app.py edit then moves kilobytes", async () => {
    const fixture = await copyFixture();
    const repository = uniqueName("mlkube-test-large");
    try {
      const size = 1024 * 1024 * 1024;
      const chunk = Buffer.alloc(8 * 1024 * 1024, 7);
      const { open } = await import("node:fs/promises");
      const file = await open(join(fixture.dir, "model.pkl"), "w");
      for (let written = 0; written < size; written += chunk.length) await file.write(chunk);
      await file.close();

      const builder = new ImageBuilder(engine);
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const events: BuildEvent[] = [];
      const request = { contextDir: fixture.dir, dockerfile: join(fixture.dir, "Dockerfile"), buildArgs: { BASE_IMAGE }, repository };
      const result = await builder.build(request, { onEvent: (event) => events.push(event) }).finally(() => clearInterval(sampler));

      expect(events.find((event) => event.type === "builder")).toMatchObject({ builder: "buildkit" });
      // BuildKit reports the bytes it received with three significant digits ("1.07GB").
      expect(result.contextBytes).toBeGreaterThan(size * 0.99);
      expect(events.some((event) => event.type === "context" && event.bytesSent > size * 0.99)).toBe(true);
      expect(peak - baseline).toBeLessThan(150 * 1024 * 1024);

      // The CLI syncs the directory: the model BuildKit already has does not travel again.
      await appendFile(join(fixture.dir, "app.py"), `\n# ${uniqueName("edit")}\n`);
      const edited = await builder.build(request);
      expect(edited.tag).not.toBe(result.tag);
      expect(edited.contextBytes).toBeLessThan(1_000_000);
    } finally {
      await removeRepository(repository);
      await fixture.cleanup();
    }
  });
});
