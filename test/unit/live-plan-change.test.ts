import { describe, expect, it } from "vitest";
import { planChange, remotePathFor, type ChangePlanInput, type FileChange } from "../../src/core/live/plan-change.js";
import { inferSyncRules, type SyncRule } from "../../src/core/live/sync-rules.js";

const rule = (src: string, dest: string): SyncRule => ({ src, dest, origin: `test ${src}` });
const changed = (path: string): FileChange => ({ path, kind: "changed" });

describe("remotePathFor: where Docker puts a context file", () => {
  it.each([
    ["a file into a directory keeps its name", "app.py", rule("app.py", "/app/"), "/app/app.py"],
    ["a file to a file path", "app.py", rule("app.py", "/srv/main.py"), "/srv/main.py"],
    ["a file under a directory source, written with a slash", "src/pkg/util.py", rule("src", "/app/src/"), "/app/src/pkg/util.py"],
    ["a file under a directory source, without a slash", "src/pkg/util.py", rule("src", "/app/code"), "/app/code/pkg/util.py"],
    ["the whole context", "pkg/model.py", rule(".", "/app/"), "/app/pkg/model.py"],
    ["the whole context into the root", "app.py", rule(".", "/"), "/app.py"],
    ["a glob", "serve.py", rule("*.py", "/app/"), "/app/serve.py"],
    ["a glob matching a dotfile, as Go's filepath.Match does", ".env.py", rule("*.py", "/app/"), "/app/.env.py"],
    ["a glob in a subdirectory", "conf/prod.yaml", rule("conf/*.yaml", "/etc/model/"), "/etc/model/prod.yaml"],
    ["a glob matching a directory: its contents", "assets/img/logo.png", rule("a*", "/www/"), "/www/img/logo.png"],
    ["? and a class", "model-2.pkl", rule("model-[0-9].pk?", "/models/"), "/models/model-2.pkl"],
    ["a negated class", "model-x.pkl", rule("model-[^0-9].pkl", "/models/"), "/models/model-x.pkl"],
    ["an escaped wildcard", "a*b.txt", rule("a\\*b.txt", "/x/"), "/x/a*b.txt"],
  ])("%s", (_what, path, syncRule, remote) => {
    expect(remotePathFor(path, syncRule)).toBe(remote);
  });

  it.each([
    ["another file", "app.py", rule("model.pkl", "/app/")],
    ["a file whose name starts like the source", "app.py.bak", rule("app.py", "/app/")],
    ["a sibling of a directory source", "srcs/x.py", rule("src", "/app/src/")],
    ["a parent of the source", "src", rule("src/app.py", "/app/")],
    ["a glob does not cross a slash", "pkg/serve.py", rule("*.py", "/app/")],
    ["a glob in another directory", "other/prod.yaml", rule("conf/*.yaml", "/etc/")],
    ["a class that does not match", "model-x.pkl", rule("model-[0-9].pkl", "/models/")],
    ["a malformed class matches nothing", "model-[.pkl", rule("model-[.pkl", "/models/")],
  ])("does not map %s", (_what, path, syncRule) => {
    expect(remotePathFor(path, syncRule)).toBeUndefined();
  });
});

describe("planChange", () => {
  const rules = [rule("app.py", "/app/"), rule("model.pkl", "/app/"), rule("requirements.txt", "/app/"), rule("src", "/app/src/")];
  const plan = (input: Partial<ChangePlanInput>) => planChange({ changes: [], rules, dockerfile: "Dockerfile", ...input });

  it("syncs covered files and deletes covered files that were deleted", () => {
    expect(plan({ changes: [changed("app.py"), { path: "src/new.py", kind: "added" }, { path: "src/old.py", kind: "deleted" }] })).toEqual({
      kind: "sync",
      copies: [
        { local: "app.py", remote: "/app/app.py" },
        { local: "src/new.py", remote: "/app/src/new.py" },
      ],
      deletes: ["/app/src/old.py"],
    });
  });

  it("copies a file to every place rules put it, once each", () => {
    const twice = [rule(".", "/app/"), rule("app.py", "/srv/"), rule("app.py", "/srv/")];
    expect(planChange({ changes: [changed("app.py")], rules: twice })).toEqual({
      kind: "sync",
      copies: [
        { local: "app.py", remote: "/app/app.py" },
        { local: "app.py", remote: "/srv/app.py" },
      ],
      deletes: [],
    });
  });

  it("rebuilds for a file no rule covers, naming it", () => {
    expect(plan({ changes: [changed("app.py"), changed("app/x.cfg")] })).toEqual({ kind: "rebuild", reason: "app/x.cfg is not covered by a sync rule" });
  });

  it.each([
    ["the Dockerfile", changed("Dockerfile"), "Dockerfile changed"],
    ["a deleted Dockerfile", { path: "Dockerfile", kind: "deleted" } as const, "Dockerfile was deleted"],
    [".dockerignore", changed(".dockerignore"), ".dockerignore changed (it decides what the build context holds)"],
    ["the Dockerfile's own .dockerignore", changed("Dockerfile.dockerignore"), "Dockerfile.dockerignore changed (it decides what the build context holds)"],
    ["requirements.txt, even though a rule covers it", changed("requirements.txt"), "requirements.txt changed (dependencies are installed at build time)"],
    ["requirements-dev.txt", changed("requirements-dev.txt"), "requirements-dev.txt changed (dependencies are installed at build time)"],
    ["requirements/base.txt", changed("requirements/base.txt"), "requirements/base.txt changed (dependencies are installed at build time)"],
    ["pip-tools' requirements.in", changed("requirements.in"), "requirements.in changed (dependencies are installed at build time)"],
    ["constraints.txt", changed("constraints.txt"), "constraints.txt changed (dependencies are installed at build time)"],
    ["pyproject.toml", changed("pyproject.toml"), "pyproject.toml changed (dependencies are installed at build time)"],
    ["poetry.lock", changed("poetry.lock"), "poetry.lock changed (dependencies are installed at build time)"],
    ["Pipfile", changed("Pipfile"), "Pipfile changed (dependencies are installed at build time)"],
    ["Pipfile.lock", changed("Pipfile.lock"), "Pipfile.lock changed (dependencies are installed at build time)"],
    ["uv.lock", changed("uv.lock"), "uv.lock changed (dependencies are installed at build time)"],
    ["setup.py in a subdirectory", changed("src/setup.py"), "src/setup.py changed (dependencies are installed at build time)"],
    ["setup.cfg", changed("setup.cfg"), "setup.cfg changed (dependencies are installed at build time)"],
    ["environment.yml", changed("environment.yml"), "environment.yml changed (dependencies are installed at build time)"],
    ["conda-lock.yml", changed("conda-lock.yml"), "conda-lock.yml changed (dependencies are installed at build time)"],
    ["a conda-lock explicit lock", changed("conda-linux-64.lock"), "conda-linux-64.lock changed (dependencies are installed at build time)"],
    ["package.json", changed("src/package.json"), "src/package.json changed (dependencies are installed at build time)"],
    ["package-lock.json", changed("package-lock.json"), "package-lock.json changed (dependencies are installed at build time)"],
    ["yarn.lock", changed("yarn.lock"), "yarn.lock changed (dependencies are installed at build time)"],
    ["pnpm-lock.yaml", changed("pnpm-lock.yaml"), "pnpm-lock.yaml changed (dependencies are installed at build time)"],
  ])("rebuilds for %s", (_what, change, reason) => {
    expect(plan({ changes: [changed("app.py"), change] })).toEqual({ kind: "rebuild", reason });
  });

  it("does not take files that only look like dependency files for them", () => {
    const everything = [rule(".", "/app/")];
    const lookalikes = ["my_requirements.py", "docs/package.json.md", "setup.py.orig", "environment.py"].map(changed);
    expect(planChange({ changes: lookalikes, rules: everything }).kind).toBe("sync");
  });

  it("rebuilds for a Dockerfile elsewhere in the context, and not for one that is not the build's", () => {
    expect(plan({ changes: [changed("docker/Dockerfile.dev")], dockerfile: "docker/Dockerfile.dev" })).toEqual({
      kind: "rebuild",
      reason: "docker/Dockerfile.dev changed",
    });
    expect(planChange({ changes: [changed("Dockerfile.old")], rules: [rule(".", "/app/")], dockerfile: "Dockerfile" }).kind).toBe("sync");
  });

  it("rebuilds when live update is off, before looking at the files", () => {
    expect(plan({ changes: [changed("app.py")], liveOff: "--no-live" })).toEqual({ kind: "rebuild", reason: "live update is off (--no-live)" });
    expect(plan({ changes: [changed("app.py")], liveOff: "sync: false" })).toEqual({
      kind: "rebuild",
      reason: "live update is off (sync: false in mlkube.yaml)",
    });
  });

  it("rebuilds when mlkube.yaml changed (build args, rules or the Dockerfile may differ now)", () => {
    expect(plan({ changes: [changed("app.py")], configChanged: true })).toEqual({ kind: "rebuild", reason: "mlkube.yaml changed" });
  });

  it("rebuilds when there are no rules", () => {
    expect(planChange({ changes: [changed("app.py")], rules: [] })).toEqual({ kind: "rebuild", reason: "app.py is not covered by a sync rule" });
  });

  it("plans the iris-sklearn fixture: app.py and model.pkl sync, requirements.txt rebuilds", () => {
    const dockerfile =
      "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY model.pkl app.py ./\n";
    const inferred = inferSyncRules(dockerfile).rules;
    expect(planChange({ changes: [changed("app.py"), changed("model.pkl")], rules: inferred, dockerfile: "Dockerfile" })).toEqual({
      kind: "sync",
      copies: [
        { local: "app.py", remote: "/app/app.py" },
        { local: "model.pkl", remote: "/app/model.pkl" },
      ],
      deletes: [],
    });
    expect(planChange({ changes: [changed("requirements.txt")], rules: inferred, dockerfile: "Dockerfile" })).toEqual({
      kind: "rebuild",
      reason: "requirements.txt changed (dependencies are installed at build time)",
    });
    expect(planChange({ changes: [changed("train.py")], rules: inferred, dockerfile: "Dockerfile" })).toEqual({
      kind: "rebuild",
      reason: "train.py is not covered by a sync rule",
    });
  });
});
