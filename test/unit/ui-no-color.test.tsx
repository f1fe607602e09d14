import { EventEmitter } from "node:events";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Colour on, as in a real terminal (chalk reads this once, on import), so that the absence of
// colour below is NO_COLOR's doing and not the test runner's missing TTY.
const saved = vi.hoisted(() => {
  const before = { FORCE_COLOR: process.env["FORCE_COLOR"], NO_COLOR: process.env["NO_COLOR"] };
  process.env["FORCE_COLOR"] = "3";
  return before;
});

import { render } from "ink-testing-library";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { DevApp } from "../../src/ui/dev/app.js";
import { renderDevUi } from "../../src/ui/dev/render.js";
import { colorsFromEnvironment } from "../../src/ui/dev/theme.js";

const SGR = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex
const NOW = 1_750_000_000_000;

/** Every coloured part at once: a running stage, a failed test, history, a problem, logs. */
const colourful: DevState = {
  ...initialState({ name: "iris-classifier", dir: "/models/iris" }),
  pending: EMPTY_CHANGES,
  paused: true,
  cluster: {
    status: "ready",
    info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "load", deliveryReason: "no registry", endpoint: "http://127.0.0.1:30080" },
  },
  current: {
    id: 2,
    trigger: "app.py changed",
    changes: EMPTY_CHANGES,
    startedAt: NOW - 5_000,
    stages: [
      { stage: "build", status: "done", startedAt: NOW - 5_000, finishedAt: NOW - 3_000 },
      { stage: "deliver", status: "running", startedAt: NOW - 3_000, progress: { current: 1, total: 3 } },
      { stage: "test", status: "failed" },
    ],
    tests: [{ name: "virginica", passed: false, latencyMs: 15, failures: [{ what: "label", expected: "a", actual: "b" }] }],
    testChanges: ["virginica now fails"],
  },
  history: [
    {
      id: 1,
      trigger: "start",
      image: "iris:1",
      deliveryPath: "load",
      stageMs: { build: 3_000 },
      totalMs: 9_000,
      result: "success",
      testsPassed: 1,
      testsFailed: 0,
    },
  ],
  problem: { stage: "test", message: "1 of 1 smoke test(s) failed", details: ["detail"], hint: "look at the model" },
};

function logsWithLines() {
  const logs = new LogStore();
  logs.append({ pod: "iris-a", container: "model", text: "hello" });
  logs.appendNotice({ pod: "iris-a", message: "restarted" });
  return logs;
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  read() {
    return null;
  }
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

class FakeStdout extends EventEmitter {
  columns = 100;
  rows = 40;
  output = "";
  write(chunk: string) {
    this.output += chunk;
    return true;
  }
}

describe("NO_COLOR", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const frameOf = async (colors: boolean) => {
    const app = render(
      <DevApp
        store={new Store<DevState, DevAction>(colourful, reduce)}
        logs={logsWithLines()}
        holdReason={() => "paused: changes are queued; press p to resume"}
        onQuit={() => {}}
        colors={colors}
        now={() => NOW}
      />,
    );
    Object.defineProperty(app.stdout, "rows", { value: 40, configurable: true });
    app.stdout.emit("resize");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const frame = app.lastFrame() ?? "";
    app.unmount();
    return frame;
  };

  it("colours every section when colours are on", async () => {
    expect(await frameOf(true)).toMatch(SGR);
  });

  it("writes no escape code at all when colours are off, yet shows the same content", async () => {
    const frame = await frameOf(false);
    expect(frame).not.toContain("\x1b[");
    for (const text of [
      "[paused]",
      "✗ test: 1 of 1 smoke test(s) failed",
      "→ fix: look at the model",
      "expected a",
      "actual b",
      "iris-a/model | hello",
      "! restarted",
      "» paused",
    ]) {
      expect(frame).toContain(text);
    }
  });

  it("is read from the environment when present and not empty", () => {
    expect(colorsFromEnvironment({ NO_COLOR: "1" })).toBe(false);
    expect(colorsFromEnvironment({ NO_COLOR: "" })).toBe(true);
    expect(colorsFromEnvironment({})).toBe(true);
  });

  it("renderDevUi honours NO_COLOR from the environment: no colour codes in the terminal output", async () => {
    const { Console } = await import("node:console");
    vi.stubGlobal("console", Object.assign(Object.create(console) as Console, { Console }));
    process.env["NO_COLOR"] = "1";
    vi.useFakeTimers(); // Ink throttles what it writes to a terminal: its timer moves with the test
    const stdout = new FakeStdout();
    const ui = renderDevUi({
      store: new Store<DevState, DevAction>(colourful, reduce),
      logs: logsWithLines(),
      holdReason: () => undefined,
      onQuit: () => {},
      stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
      stdout: stdout as unknown as NodeJS.WriteStream,
    });
    await vi.advanceTimersByTimeAsync(150);
    ui.unmount();
    const exited = ui.waitUntilExit();
    await vi.advanceTimersByTimeAsync(1_000); // Ink's last write after unmount, throttled too
    await exited;
    expect(stdout.output).toContain("iris-classifier");
    expect(stdout.output).toContain("hello");
    expect(stdout.output).not.toMatch(SGR);
  });
});
