import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { exposedPort } from "../../src/config/dockerfile-port.js";
import { expand } from "../../src/config/dockerfile-variables.js";

describe("exposedPort", () => {
  it.each([
    ["a plain port", "FROM python\nEXPOSE 8080\n", 8080],
    ["a port with protocol", "FROM python\nEXPOSE 5000/tcp\n", 5000],
    ["the first of several ports", "FROM python\nEXPOSE 7000 7001/tcp\n", 7000],
    ["the first TCP port, skipping UDP", "FROM python\nEXPOSE 5353/udp 8000/TCP\n", 8000],
    ["the first port of a range", "FROM python\nEXPOSE 8000-8010\n", 8000],
    ["a quoted port", 'FROM python\nEXPOSE "9000"\n', 9000],
    ["the first EXPOSE line", "FROM python\nEXPOSE 8000\nEXPOSE 9000\n", 8000],
    ["an ARG default", "FROM python\nARG PORT=8500\nEXPOSE $PORT\n", 8500],
    ["a braced ARG with protocol", "FROM python\nARG PORT=8501\nEXPOSE ${PORT}/tcp\n", 8501],
    ["a global ARG declared again in the stage", "ARG PORT=8502\nFROM python\nARG PORT\nEXPOSE $PORT\n", 8502],
    ["an ENV value", "FROM python\nENV APP_PORT=8503\nEXPOSE $APP_PORT\n", 8503],
    ["an ENV set from an ARG", "FROM python\nARG PORT=8504\nENV APP_PORT=$PORT\nEXPOSE $APP_PORT\n", 8504],
    ["a default in the reference", "FROM python\nARG PORT\nEXPOSE ${PORT:-8505}\n", 8505],
    ["the last stage of a multi-stage build", "FROM python AS build\nEXPOSE 1111\nFROM python:slim\nEXPOSE 2222\n", 2222],
    ["EXPOSE inherited from an earlier stage", "FROM python AS base\nEXPOSE 3333\nFROM base AS final\nRUN true\n", 3333],
    ["a line continuation", "FROM python\nEXPOSE \\\n  4444\n", 4444],
  ])("reads %s", (_what, dockerfile, port) => {
    expect(exposedPort(dockerfile)?.port).toBe(port);
  });

  it("returns the line of the EXPOSE", () => {
    expect(exposedPort("FROM python\n\nEXPOSE 8080\n")).toEqual({ port: 8080, line: 3 });
  });

  it("returns undefined without EXPOSE, without FROM, or with only UDP", () => {
    expect(exposedPort("FROM python\nCMD serve\n")).toBeUndefined();
    expect(exposedPort("")).toBeUndefined();
    expect(exposedPort("FROM python\nEXPOSE 53/udp\n")).toBeUndefined();
    // An earlier stage's EXPOSE does not reach an unrelated final stage.
    expect(exposedPort("FROM python AS build\nEXPOSE 1111\nFROM python:slim\n")).toBeUndefined();
  });

  it("lets build arguments override ARG defaults", () => {
    const dockerfile = "ARG PORT=8000\nFROM python\nARG PORT\nEXPOSE $PORT\n";
    expect(exposedPort(dockerfile, { buildArgs: { PORT: "9000" } })?.port).toBe(9000);
  });

  it("reads the target stage", () => {
    const dockerfile = "FROM python AS serve\nEXPOSE 1111\nFROM python AS Debug\nEXPOSE 2222\n";
    expect(exposedPort(dockerfile, { target: "serve" })?.port).toBe(1111);
    expect(exposedPort(dockerfile, { target: "debug" })?.port).toBe(2222);
  });

  it("rejects a target that is not a stage, naming the stages", () => {
    const error = catchUserError(() => exposedPort("FROM python AS serve\nEXPOSE 1\n", { target: "prod" }));
    expect(error.message).toBe('build.target "prod" is not a stage of Dockerfile.');
    expect(error.hint).toBe("Set build.target to one of: serve.");
  });

  it("rejects a variable it cannot resolve rather than guess", () => {
    const error = catchUserError(() => exposedPort("FROM python\nARG PORT\nEXPOSE $PORT\n", { displayPath: "model/Dockerfile" }));
    expect(error.kind).toBe("dockerfile");
    expect(error.message).toBe("model/Dockerfile:3 EXPOSE $PORT: a variable in it has no value, so mlkube cannot tell the port.");
  });

  it("rejects a port that is not one", () => {
    expect(catchUserError(() => exposedPort("FROM python\nEXPOSE 99999\n")).message).toBe("Dockerfile:2 EXPOSE 99999 is not a valid port.");
    expect(catchUserError(() => exposedPort("FROM python\nEXPOSE http\n")).message).toBe("Dockerfile:2 EXPOSE http is not a valid port.");
  });
});

describe("expand", () => {
  const values: Record<string, string> = { A: "1", EMPTY: "" };
  const lookup = (name: string) => values[name];
  it.each([
    ["$A", "1"],
    ["${A}0", "10"],
    ["${MISSING:-7}", "7"],
    ["${EMPTY:-7}", "7"],
    ["${A:+yes}", "yes"],
    ["${MISSING:+yes}", ""],
    ["plain", "plain"],
    ["$MISSING", undefined],
  ])("%s -> %s", (text, expected) => {
    expect(expand(text, lookup)).toBe(expected);
  });
});

function catchUserError(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}
