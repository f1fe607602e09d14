import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { parseBuildArgs } from "../../src/config/load.js";

describe("parseBuildArgs", () => {
  const env = { HTTP_PROXY: "http://proxy:3128", EMPTY: "" };

  it("parses KEY=VALUE, keeping everything after the first =", () => {
    expect(parseBuildArgs(["A=1", "URL=http://x/?a=b", "EMPTY_VALUE="], env)).toEqual({ A: "1", URL: "http://x/?a=b", EMPTY_VALUE: "" });
  });

  it("takes a bare KEY from the environment, and skips it when unset (as docker build does)", () => {
    expect(parseBuildArgs(["HTTP_PROXY", "EMPTY", "NOT_SET"], env)).toEqual({ HTTP_PROXY: "http://proxy:3128", EMPTY: "" });
  });

  it("lets a later value win", () => {
    expect(parseBuildArgs(["A=1", "A=2"], env)).toEqual({ A: "2" });
  });

  it("returns nothing for no arguments", () => {
    expect(parseBuildArgs([], env)).toEqual({});
  });

  it.each(["=value", "", "A B=1", "1A=2", "-A=1"])("rejects %j as a usage error", (item) => {
    let caught: unknown;
    try {
      parseBuildArgs([item], env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).kind).toBe("usage");
    expect((caught as UserError).message).toBe(`--build-arg ${JSON.stringify(item)} is not KEY=VALUE.`);
  });

  it("keeps odd names as plain data", () => {
    const args = parseBuildArgs(["__proto__=x"], env);
    expect(Object.keys(args)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
  });
});
