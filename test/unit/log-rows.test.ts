import chalk from "chalk";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import type { LogEntry } from "../../src/engine/log-store.js";
import { logRow } from "../../src/ui/dev/log-rows.js";

const entry = (text: string, extra: Partial<LogEntry> = {}): LogEntry => ({ seq: 7, pod: "iris-a", container: "model", time: "", text, kind: "log", ...extra });
const plain = { columns: 40, prefixWidth: 12, mark: undefined, raw: false, colors: false };
// eslint-disable-next-line no-control-regex
const visible = (row: string) => row.replace(/\x1b\[[0-9;]*m/g, "");

describe("log pane rows", () => {
  it("lines the text up after a fixed-width source column", () => {
    expect(logRow({ entry: entry("ready"), count: 1 }, "iris-a/model", plain)).toBe("iris-a/model | ready");
    expect(logRow({ entry: entry("ready"), count: 1 }, "a/model", plain)).toBe("a/model      | ready");
  });

  it("cuts a row at the pane's width with an ellipsis, wide characters included", () => {
    const long = logRow({ entry: entry("x".repeat(100)), count: 1 }, "iris-a/model", plain);
    expect(long).toBe(`iris-a/model | ${"x".repeat(24)}…`);
    const wide = logRow({ entry: entry("模型".repeat(20)), count: 1 }, "iris-a/model", plain);
    expect(stringWidth(wide)).toBeLessThanOrEqual(40);
    expect(wide.endsWith("…")).toBe(true);
  });

  it("says the fold count, the mark, notices and JSON lines", () => {
    expect(logRow({ entry: entry("GET / 200"), count: 1234 }, "iris-a/model", plain)).toBe("iris-a/model | ×1,234 GET / 200");
    expect(logRow({ entry: entry("boom"), count: 1 }, "iris-a/model", { ...plain, mark: 7 })).toBe("iris-a/model ▶ boom");
    expect(logRow({ entry: entry("restarted", { kind: "notice", container: "" }), count: 1 }, "iris-a", plain)).toBe("iris-a       | ! restarted");
    const json = entry('{"level":"error","message":"model not loaded","path":"/m"}');
    expect(logRow({ entry: json, count: 1 }, "iris-a/model", { ...plain, columns: 80 })).toBe("iris-a/model | ERROR model not loaded +1 fields");
    expect(logRow({ entry: json, count: 1 }, "iris-a/model", { ...plain, columns: 80, raw: true })).toContain('{"level":"error"');
  });

  it("styles the source, separator and level only with colours on, and the cut row stays within the width", () => {
    const level = chalk.level;
    chalk.level = 1; // as in a colour terminal, whatever runs the test
    try {
      const json = entry('{"level":"error","message":"model not loaded"}');
      const coloured = logRow({ entry: json, count: 1 }, "iris-a/model", { ...plain, colors: true });
      expect(coloured).toContain(chalk.red("ERROR "));
      expect(coloured).toContain(chalk.dim(" | "));
      expect(visible(coloured)).toBe(logRow({ entry: json, count: 1 }, "iris-a/model", plain));
      const cut = logRow({ entry: entry("y".repeat(80)), count: 1 }, "iris-a/model", { ...plain, colors: true });
      expect(stringWidth(visible(cut))).toBe(40);
    } finally {
      chalk.level = level;
    }
  });
});
