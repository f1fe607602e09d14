import { render } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { DevApp } from "../../src/ui/dev/app.js";
import { eventually } from "../support/eventually.js";

const state: DevState = { ...initialState({ name: "iris-classifier", dir: "/models/iris" }), pending: EMPTY_CHANGES };

function renderWithLogs(logs: LogStore, size: { columns: number; rows: number }) {
  const app = render(<DevApp store={new Store<DevState, DevAction>(state, reduce)} logs={logs} holdReason={() => undefined} onQuit={() => {}} colors={false} />);
  Object.defineProperty(app.stdout, "columns", { value: size.columns, configurable: true });
  Object.defineProperty(app.stdout, "rows", { value: size.rows, configurable: true });
  app.stdout.emit("resize");
  return { ...app, frame: () => app.lastFrame() ?? "" };
}

const logLines = (frame: string) => frame.split("\n").filter((line) => line.includes(" │ "));

describe("log pane", () => {
  let unmount: (() => void) | undefined;
  afterEach(() => {
    unmount?.();
    unmount = undefined;
  });

  it("shows only the newest lines that fit, and how many the store dropped", async () => {
    const logs = new LogStore({ capacity: 50 });
    for (let index = 1; index <= 200; index++) logs.append({ pod: "iris-7d9f8c6b5-x2k4q", container: "model", text: `request ${index}` });
    const app = renderWithLogs(logs, { columns: 100, rows: 20 });
    unmount = app.unmount;
    // 20 rows: header 2, pipeline 1, footer 1, one row kept free, the pane's title: 14 lines.
    await eventually(() => expect(logLines(app.frame())).toHaveLength(14));
    expect(logLines(app.frame()).at(-1)).toBe("iris-7d9f8c6b5-x2k4q/model │ request 200");
    expect(logLines(app.frame())[0]).toContain("request 187");
    expect(app.frame()).toContain("200 lines · 150 lines dropped");
  });

  it("picks up new lines on its timer, without a render per line", async () => {
    const logs = new LogStore();
    const app = renderWithLogs(logs, { columns: 100, rows: 20 });
    unmount = app.unmount;
    await eventually(() => expect(app.frame()).toContain("no log lines yet"));
    const framesBefore = app.frames.length;
    for (let index = 1; index <= 5_000; index++) logs.append({ pod: "iris-a", container: "model", text: `burst ${index}` });
    await eventually(() => expect(app.frame()).toContain("burst 5000"));
    // A burst of 5,000 lines is a handful of frames, not thousands.
    expect(app.frames.length - framesBefore).toBeLessThan(10);
    expect(app.frame()).not.toContain("dropped");
  });

  it("tells pods apart, by their unique suffix on a narrow screen", async () => {
    const logs = new LogStore();
    logs.append({ pod: "iris-7d9f8c6b5-x2k4q", container: "model", text: "ready" });
    logs.append({ pod: "iris-7d9f8c6b5-pp9sd", container: "model", text: "ready" });
    logs.appendNotice({ pod: "iris-7d9f8c6b5-x2k4q", message: "container model restarted (exit code 1)" });
    const app = renderWithLogs(logs, { columns: 60, rows: 20 });
    unmount = app.unmount;
    await eventually(() => expect(logLines(app.frame())).toEqual([
      "x2k4q/model │ ready",
      "pp9sd/model │ ready",
      "x2k4q       │ ! container model restarted (exit code 1)",
    ]));
  });

  it("shows a pod's own escape codes and tabs as plain text", async () => {
    const logs = new LogStore();
    logs.append({ pod: "p", container: "c", text: "\x1b[2J\x1b[31mERROR\x1b[0m\tsomething" });
    const app = renderWithLogs(logs, { columns: 60, rows: 20 });
    unmount = app.unmount;
    await eventually(() => expect(logLines(app.frame())).toEqual(["p/c │ ERROR  something"]));
  });
});
