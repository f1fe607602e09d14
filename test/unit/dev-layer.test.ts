// The dev layer's Dockerfile and tag, without an engine (test/integration/live-supervisor.test.ts
// builds and runs it).
import { describe, expect, it } from "vitest";
import { devLayerDockerfile, devLayerTag } from "../../src/adapters/docker/dev-layer.js";

const START = "/usr/local/lib/mlkube-live/start.sh";

describe("devLayerDockerfile", () => {
  it("puts the supervisor before the original ENTRYPOINT and keeps the original CMD as CMD", () => {
    const text = devLayerDockerfile("iris:0123abcd", ["gunicorn"], ["-b", "0.0.0.0:5000", "app:app"]);
    expect(text.split("\n")).toEqual([
      "FROM iris:0123abcd",
      "COPY start.sh supervisor.py supervisor.sh /usr/local/lib/mlkube-live/",
      `ENTRYPOINT ["/bin/sh","${START}","gunicorn"]`,
      'CMD ["-b","0.0.0.0:5000","app:app"]',
      "",
    ]);
  });

  it("passes a shell-form command through as the engine stores it, quotes and all", () => {
    const text = devLayerDockerfile("iris:0123abcd", [], ["/bin/sh", "-c", 'python3 app.py --name "a b" \\']);
    expect(text).toContain(`ENTRYPOINT ["/bin/sh","${START}"]\n`);
    expect(text).toContain('CMD ["/bin/sh","-c","python3 app.py --name \\"a b\\" \\\\"]\n');
  });

  it("gives a non-root image user the sync destinations, then runs as that user again; bakes in a restart policy other than auto", () => {
    const text = devLayerDockerfile("iris:0123abcd", [], ["python3", "app.py"], {
      writableDirs: ["/app", "/srv/my models"],
      restart: "process",
      user: "10001",
    });
    expect(text.split("\n").slice(2, 6)).toEqual([
      "USER root",
      `RUN ["/bin/sh","-c","owner=\\"$1\\"; shift; for dir in \\"$@\\"; do mkdir -p \\"$dir\\" && find \\"$dir\\" -type d -exec chown \\"$owner\\" {} +; done","sh","10001","/app","/srv/my models"]`,
      "USER 10001",
      "ENV MLKUBE_RESTART=process",
    ]);
    // Root (or no USER) can write anywhere already.
    expect(devLayerDockerfile("iris:0123abcd", [], ["python3", "app.py"], { writableDirs: ["/app"], restart: "auto", user: "" })).not.toContain("USER");
    expect(devLayerDockerfile("iris:0123abcd", [], ["python3", "app.py"], { writableDirs: ["/app"], restart: "auto", user: "0:0" })).not.toContain("chown");
  });

  it("tags differently when the layer's settings differ", () => {
    const files = new Map([["start.sh", Buffer.from("x")]]);
    const base = { imageId: "sha256:abc", repository: "iris", tag: "1234" };
    expect(devLayerTag(base, files, { writableDirs: ["/app"], restart: "auto" })).not.toBe(
      devLayerTag(base, files, { writableDirs: ["/app"], restart: "process" }),
    );
  });

  it("writes no CMD when the image has only an ENTRYPOINT", () => {
    expect(devLayerDockerfile("iris:0123abcd", ["python3", "app.py"], [])).not.toContain("CMD");
  });

  it("refuses an image with no command, saying how to add one", () => {
    expect(() => devLayerDockerfile("iris:0123abcd", [], [])).toThrow(/neither ENTRYPOINT nor CMD/);
  });
});

describe("devLayerTag", () => {
  const files = new Map([["supervisor.py", Buffer.from("v1")]]);
  const base = { imageId: "sha256:abc", repository: "iris", tag: "0123456789abcdef" };

  it("names the base tag and changes with the supervisor's files and the base image", () => {
    const tag = devLayerTag(base, files);
    expect(tag).toMatch(/^0123456789abcdef-live-[0-9a-f]{12}$/);
    expect(devLayerTag(base, files)).toBe(tag);
    expect(devLayerTag(base, new Map([["supervisor.py", Buffer.from("v2")]]))).not.toBe(tag);
    expect(devLayerTag({ ...base, imageId: "sha256:def" }, files)).not.toBe(tag);
  });
});
