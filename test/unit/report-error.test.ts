// The last resort for connection failures nothing else worded (issue 17.4): the engine or the
// cluster going away mid-command is the user's environment, reported with exit 1; anything else
// that is not a UserError is still a bug, with its stack and exit 70.
import { connect } from "node:net";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { problemFrom } from "../../src/engine/runner.js";
import { UserError } from "../../src/errors.js";
import { reportError } from "../../src/ui/report-error.js";

/** The error Node gives for a connection to a Unix socket that does not exist. */
function socketError(path: string): Promise<Error> {
  return new Promise((resolve) => connect(path).on("error", resolve));
}

function report(error: unknown): { code: number; text: string } {
  const out = new PassThrough();
  const code = reportError(error, out);
  return { code, text: String(out.read() ?? "") };
}

describe("reportError", () => {
  it("reports a connection nothing worded as the user's environment, naming where", async () => {
    const { code, text } = report(await socketError("/tmp/mlkube-no-such.sock"));
    expect(code).toBe(1);
    expect(text).toBe(
      "error: mlkube lost its connection to /tmp/mlkube-no-such.sock: no socket exists at that path.\n" +
        "fix: Check that the Docker engine ('docker info') and the cluster ('kubectl get nodes') are running, then run the command again.\n",
    );
  });

  it("keeps a UserError's own words even when its cause is a connection failure", async () => {
    const error = new UserError("docker-unavailable", "Cannot reach the Docker engine at unix:///x.sock (DOCKER_HOST): no socket exists at that path.", {
      cause: await socketError("/x.sock"),
    });
    expect(report(error).text).toMatch(/^error: Cannot reach the Docker engine at unix:\/\/\/x\.sock/);
  });

  it("still reports a missing file that is not a connection as a bug, with its stack", () => {
    const error = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: "ENOENT", syscall: "open", path: "/x" });
    const { code, text } = report(error);
    expect(code).toBe(70);
    expect(text).toMatch(/internal error[\s\S]* {4}at /);
  });
});

describe("problemFrom (the dev loop's error box)", () => {
  it("shows a lost connection as a problem with a fix, not a bug report", async () => {
    const problem = problemFrom("apply", await socketError("/tmp/mlkube-no-such.sock"));
    expect(problem.message).toBe("mlkube lost its connection to /tmp/mlkube-no-such.sock: no socket exists at that path.");
    expect(problem.hint).toMatch(/docker info/);
  });
});
