import { render } from "ink-testing-library";
import { useLayoutEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { DevApp } from "../../src/ui/dev/app.js";
import { INITIAL_VIEW } from "../../src/ui/dev/keys.js";
import { LogPane } from "../../src/ui/dev/log-pane.js";
import { eventually } from "../support/eventually.js";

const state: DevState = { ...initialState({ name: "iris-classifier", dir: "/models/iris" }), pending: EMPTY_CHANGES };

function renderWithLogs(logs: LogStore, size: { columns: number; rows: number }) {
  const app = render(
    <DevApp store={new Store<DevState, DevAction>(state, reduce)} logs={logs} holdReason={() => undefined} onQuit={() => {}} colors={false} />,
  );
  Object.defineProperty(app.stdout, "columns", { value: size.columns, configurable: true });
  Object.defineProperty(app.stdout, "rows", { value: size.rows, configurable: true });
  app.stdout.emit("resize");
  return { ...app, frame: () => app.lastFrame() ?? "" };
}

const logLines = (frame: string) => frame.split("\n").filter((line) => line.includes(" | "));

describe("log pane", () => {
  let unmount: (() => void) | undefined;
  afterEach(() => {
    unmount?.(); // before the timers turn real: the pane's refresh timer is cleared with the fake clock that made it
    unmount = undefined;
    vi.useRealTimers();
  });

  it("shows only the newest lines that fit, and how many the store dropped", async () => {
    const logs = new LogStore({ capacity: 50 });
    for (let index = 1; index <= 200; index++) logs.append({ pod: "iris-7d9f8c6b5-x2k4q", container: "model", text: `request ${index}` });
    const app = renderWithLogs(logs, { columns: 100, rows: 20 });
    unmount = app.unmount;
    // 20 rows: header 2, pipeline 1, footer 1, one row kept free, the pane's title: 14 lines.
    await eventually(() => expect(logLines(app.frame())).toHaveLength(14));
    expect(logLines(app.frame()).at(-1)).toBe("iris-7d9f8c6b5-x2k4q/model | request 200");
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

  it("redraws about twice a second under a flood, not at every 100 ms tick", async () => {
    vi.useFakeTimers(); // the pane's refresh timer and its clock, and the flood's, move with the test
    const logs = new LogStore();
    const app = renderWithLogs(logs, { columns: 100, rows: 20 });
    unmount = app.unmount;
    await vi.waitFor(() => expect(app.frame()).toContain("no log lines yet"));
    const framesBefore = app.frames.length;
    // 2,000 lines a second for 1.5 s: a pane's worth (14 lines) arrives every 7 ms.
    let sent = 0;
    const timer = setInterval(() => {
      for (let index = 0; index < 20; index++) logs.append({ pod: "iris-a", container: "model", text: `flood ${++sent}` });
    }, 10);
    await vi.advanceTimersByTimeAsync(1_500);
    clearInterval(timer);
    await vi.waitFor(() => expect(app.frame()).toContain(`flood ${sent}`));
    // The cluster's spinner redraws the screen on its own: count the redraws of the lines.
    const panes = app.frames.slice(framesBefore).map((frame) => logLines(frame).join("\n"));
    const redraws = panes.filter((pane, index) => pane !== panes[index - 1]);
    // 1.5 s at one redraw per 500 ms is 3-4 (and the last lines); at every 100 ms tick it was 15.
    expect(redraws.length).toBeLessThanOrEqual(5);
    expect(redraws.length).toBeGreaterThanOrEqual(2);
  });

  it("a line that arrives as the pane changes size shows on the next tick", async () => {
    const logs = new LogStore();
    logs.append({ pod: "iris-a", container: "model", text: "before" });
    function Pane({ rows }: { rows: number }) {
      // After the frame at the new size is read, before React runs its effects (tens of
      // milliseconds later in a busy UI): as when `c` dismisses the error panel above the pane.
      useLayoutEffect(() => {
        if (rows === 20) logs.append({ pod: "iris-a", container: "model", text: "after" });
      }, [rows]);
      return <LogPane logs={logs} view={INITIAL_VIEW.logView} focused={false} typing={undefined} rows={rows} columns={100} />;
    }
    const app = render(<Pane rows={10} />);
    unmount = app.unmount;
    await eventually(() => expect(app.lastFrame()).toContain("before"));
    app.rerender(<Pane rows={20} />);
    expect(app.lastFrame()).not.toContain("after");
    await eventually(() => expect(app.lastFrame()).toContain("after"));
  });

  it("tells pods apart, by their unique suffix on a narrow screen", async () => {
    const logs = new LogStore();
    logs.append({ pod: "iris-7d9f8c6b5-x2k4q", container: "model", text: "ready" });
    logs.append({ pod: "iris-7d9f8c6b5-pp9sd", container: "model", text: "ready" });
    logs.appendNotice({ pod: "iris-7d9f8c6b5-x2k4q", message: "container model restarted (exit code 1)" });
    const app = renderWithLogs(logs, { columns: 60, rows: 20 });
    unmount = app.unmount;
    await eventually(() =>
      expect(logLines(app.frame())).toEqual(["x2k4q/model | ready", "pp9sd/model | ready", "x2k4q       | ! container model restarted (exit code 1)"]),
    );
  });

  it("tells pods apart by their suffix, container kept, when full names would not fit a third of a wide screen", async () => {
    const logs = new LogStore();
    logs.append({ pod: "fraud-detector-xgboost-7d9f8c6b5-x2k4q", container: "fraud-detector-xgboost", text: "ready" });
    const app = renderWithLogs(logs, { columns: 120, rows: 20 });
    unmount = app.unmount;
    await eventually(() => expect(logLines(app.frame())).toEqual(["x2k4q/fraud-detector-xgboost | ready"]));
  });

  it("shows a pod's own escape codes and tabs as plain text", async () => {
    const logs = new LogStore();
    logs.append({ pod: "p", container: "c", text: "\x1b[2J\x1b[31mERROR\x1b[0m\tsomething" });
    const app = renderWithLogs(logs, { columns: 60, rows: 20 });
    unmount = app.unmount;
    await eventually(() => expect(logLines(app.frame())).toEqual(["p/c | ERROR  something"]));
  });
});

/** Lets Ink's input handling and React's effects run after a write. */
async function press(app: { stdin: { write(data: string): void } }, ...keys: string[]) {
  for (const key of keys) {
    app.stdin.write(key);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** The pane's lines, the marked one (▶) included. */
const paneLines = (frame: string) => frame.split("\n").filter((line) => / [|▶] /.test(line));
const titleOf = (frame: string) => frame.split("\n").find((line) => line.startsWith("logs ")) ?? "";

describe("log pane as a tool", () => {
  let unmount: (() => void) | undefined;
  afterEach(() => {
    unmount?.();
    unmount = undefined;
  });
  const mount = (logs: LogStore, size = { columns: 120, rows: 20 }) => {
    const app = renderWithLogs(logs, size);
    unmount = app.unmount;
    return app;
  };
  const append = (logs: LogStore, texts: readonly string[], pod = "iris-a", container = "model") => {
    for (const text of texts) logs.append({ pod, container, text });
  };

  it("/re: searches by regular expression and counts the matches", async () => {
    const logs = new LogStore();
    append(logs, ["POST /predict 200", "POST /predict 503", "GET /healthz 200", "POST /predict 500", "5xx in prose"]);
    const app = mount(logs);
    await press(app, "/", "re:predict 5\\d\\d$", "\r");
    await eventually(() => expect(titleOf(app.frame())).toContain("regex “predict 5\\d\\d$” · 2 matches"));
    expect(paneLines(app.frame())).toEqual(["iris-a/model | POST /predict 503", "iris-a/model | POST /predict 500"]);
    // The count follows new lines.
    append(logs, ["POST /predict 502"]);
    await eventually(() => expect(titleOf(app.frame())).toContain("· 3 matches"));
  });

  it("an invalid regular expression is named in the title and filters nothing", async () => {
    const logs = new LogStore();
    append(logs, ["first line", "second line"]);
    const app = mount(logs);
    await press(app, "/", "re:(unclosed");
    await eventually(() => expect(titleOf(app.frame())).toContain("/re:(unclosed▌ invalid regular expression “(unclosed”: Unterminated group"));
    await press(app, ")");
    await eventually(() => expect(titleOf(app.frame())).not.toContain("invalid"));
    await press(app, "\x7f", "\r");
    await eventually(() => expect(titleOf(app.frame())).toContain("invalid regular expression “(unclosed”: Unterminated group, not applied"));
    expect(paneLines(app.frame())).toHaveLength(2);
    // The UI still answers keys.
    await press(app, "\x1b");
    await eventually(() => expect(titleOf(app.frame())).not.toContain("invalid"));
  });

  it("Tab goes through each pod, and each container of a pod with several", async () => {
    const logs = new LogStore();
    append(logs, ["model line"], "iris-a", "model");
    append(logs, ["sidecar line"], "iris-a", "proxy");
    append(logs, ["b line"], "iris-b", "model");
    const app = mount(logs);
    await press(app, "l", "\t");
    await eventually(() => expect(titleOf(app.frame())).toContain("pod iris-a ·"));
    expect(paneLines(app.frame())).toHaveLength(2);
    await press(app, "\t");
    await eventually(() => expect(titleOf(app.frame())).toContain("pod iris-a/model"));
    expect(paneLines(app.frame())).toEqual(["iris-a/model | model line"]);
    await press(app, "\t", "\t");
    await eventually(() => expect(titleOf(app.frame())).toContain("pod iris-b"));
    expect(paneLines(app.frame())).toEqual(["iris-b/model | b line"]);
    await press(app, "\t");
    await eventually(() => expect(titleOf(app.frame())).toContain("all pods"));
  });

  it("scrolled back, the view stays put while lines arrive and counts them; G follows again", async () => {
    const logs = new LogStore();
    append(
      logs,
      Array.from({ length: 40 }, (_, index) => `line ${index + 1}`),
    );
    const app = mount(logs);
    await press(app, "l", "k", "k");
    await eventually(() => expect(titleOf(app.frame())).toContain("paused (End follows) · 2 newer lines below"));
    const pinned = paneLines(app.frame());
    expect(pinned.at(-1)).toBe("iris-a/model | line 38");
    append(logs, ["line 41", "line 42", "line 43"]);
    await eventually(() => expect(titleOf(app.frame())).toContain("5 newer lines below"));
    expect(paneLines(app.frame())).toEqual(pinned);
    await press(app, "G");
    await eventually(() => expect(paneLines(app.frame()).at(-1)).toBe("iris-a/model | line 43"));
    expect(titleOf(app.frame())).toContain("following");
    expect(titleOf(app.frame())).not.toContain("newer");
  });

  it("a pinned view whose lines a flood pushed out of the history shows the oldest page still held", async () => {
    const logs = new LogStore({ capacity: 50 });
    append(
      logs,
      Array.from({ length: 40 }, (_, index) => `line ${index + 1}`),
    );
    const app = mount(logs);
    await press(app, "l", "k");
    await eventually(() => expect(paneLines(app.frame()).at(-1)).toBe("iris-a/model | line 39"));
    append(
      logs,
      Array.from({ length: 200 }, (_, index) => `flood ${index + 1}`),
    );
    // Held now: flood 151 to 200; the oldest page ends 13 lines further.
    await eventually(() => expect(paneLines(app.frame())[0]).toBe("iris-a/model | flood 151"));
    expect(paneLines(app.frame())).toHaveLength(14);
    expect(titleOf(app.frame())).toContain("paused (End follows) · 36 newer lines below");
    // Scrolling goes on from what is shown.
    await press(app, "j");
    await eventually(() => expect(paneLines(app.frame())[0]).toBe("iris-a/model | flood 152"));
  });

  it("e says so when no error line is kept, until the next key", async () => {
    const logs = new LogStore();
    append(logs, ["all good", "0 errors"]);
    const app = mount(logs);
    await press(app, "e");
    await eventually(() => expect(titleOf(app.frame())).toContain("following · all pods · 2 lines · no error or traceback in the lines kept"));
    await press(app, "k");
    await eventually(() => expect(titleOf(app.frame())).not.toContain("no error"));
  });

  it("e shows the last traceback from its first line, marked, and again the error before it", async () => {
    const logs = new LogStore();
    append(logs, ["2026-12-05 12:00:00 ERROR model file missing", ...Array.from({ length: 20 }, (_, index) => `request ${index}`)]);
    append(logs, ["Traceback (most recent call last):", '  File "app.py", line 12, in predict', "ValueError: expected 4 features"]);
    append(
      logs,
      Array.from({ length: 30 }, (_, index) => `later ${index}`),
    );
    const app = mount(logs);
    // Keys before the first frame at this size would page by the default terminal's rows.
    await eventually(() => expect(paneLines(app.frame())).toHaveLength(14));
    await press(app, "e");
    await eventually(() => expect(paneLines(app.frame())[0]).toBe("iris-a/model ▶ Traceback (most recent call last):"));
    expect(paneLines(app.frame())[2]).toBe("iris-a/model | ValueError: expected 4 features");
    expect(titleOf(app.frame())).toContain("paused");
    await press(app, "e");
    await eventually(() => expect(paneLines(app.frame())[0]).toBe("iris-a/model ▶ 2026-12-05 12:00:00 ERROR model file missing"));
  });

  it("shows JSON lines as level and message; v shows them as written", async () => {
    const logs = new LogStore();
    const raw = '{"asctime": "2026-12-05 12:00:01", "levelname": "ERROR", "message": "predict failed", "request_id": "r1"}';
    append(logs, [raw, "plain {line}"]);
    const app = mount(logs);
    await eventually(() => expect(paneLines(app.frame())).toEqual(["iris-a/model | ERROR predict failed +1 fields", "iris-a/model | plain {line}"]));
    await press(app, "l", "v");
    await eventually(() => expect(paneLines(app.frame())[0]).toBe(`iris-a/model | ${raw}`));
  });

  it("folds a run of probe lines into one row with a count; z unfolds, and ↑ steps over a folded row", async () => {
    const logs = new LogStore();
    const probe = (second: number) => `127.0.0.1 - - [05/Dec/2026 12:00:${String(second).padStart(2, "0")}] "GET / HTTP/1.1" 200 -`;
    append(logs, [
      ...Array.from({ length: 20 }, (_, index) => `request ${index}`),
      "loaded model",
      ...Array.from({ length: 40 }, (_, index) => probe(index)),
      '127.0.0.1 - - [05/Dec/2026 12:00:41] "POST /predict HTTP/1.1" 200 -',
      probe(42),
      probe(43),
    ]);
    const app = mount(logs);
    await eventually(() =>
      expect(paneLines(app.frame()).slice(-4)).toEqual([
        "iris-a/model | loaded model",
        `iris-a/model | ×40 ${probe(39)}`,
        'iris-a/model | 127.0.0.1 - - [05/Dec/2026 12:00:41] "POST /predict HTTP/1.1" 200 -',
        `iris-a/model | ×2 ${probe(43)}`,
      ]),
    );
    expect(titleOf(app.frame())).toContain("repeats folded (z unfolds)");
    // 14 rows shown of 24: two rows up is the folded run, not two of its lines.
    await press(app, "l", "k", "k");
    await eventually(() => expect(paneLines(app.frame()).at(-1)).toBe(`iris-a/model | ×40 ${probe(39)}`));
    expect(titleOf(app.frame())).toContain("3 newer lines below");
    await press(app, "G", "z");
    await eventually(() => expect(paneLines(app.frame())).toHaveLength(14));
    expect(paneLines(app.frame()).at(-1)).toBe(`iris-a/model | ${probe(43)}`);
    expect(titleOf(app.frame())).toContain("unfolded (z folds)");
  });
});
