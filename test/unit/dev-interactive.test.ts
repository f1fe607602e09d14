// When `mlkube dev` draws its interactive UI and when it prints plain lines instead.
import { describe, expect, it } from "vitest";
import { wantsInteractiveUi } from "../../src/commands/dev/interactive.js";

const terminal = { stdout: true, stdin: true };
const env = { TERM: "xterm-256color" };

describe("wantsInteractiveUi", () => {
  it("draws the UI on a terminal that can move its cursor", () => {
    expect(wantsInteractiveUi({}, terminal, env)).toBe(true);
    expect(wantsInteractiveUi({}, terminal, { TERM: "screen" })).toBe(true);
  });

  it.each([
    ["--no-tui", { tui: false }, terminal, env],
    ["--json", { json: true }, terminal, env],
    ["--once", { once: true }, terminal, env],
    ["output piped", {}, { stdout: false, stdin: true }, env],
    ["input not a terminal", {}, { stdout: true, stdin: false }, env],
    ["CI set", {}, terminal, { ...env, CI: "true" }],
    ["TERM=dumb (Emacs' shell, IDE consoles)", {}, terminal, { TERM: "dumb" }],
  ])("prints plain lines with %s", (_case, flags, where, environment) => {
    expect(wantsInteractiveUi(flags, where, environment)).toBe(false);
  });
});
