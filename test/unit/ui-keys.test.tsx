import { EventEmitter } from "node:events";
import type { Key } from "ink";
import { render } from "ink-testing-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState, type ProblemReport } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { DevApp } from "../../src/ui/dev/app.js";
import { keyPresses } from "../../src/ui/dev/keys.js";
import { renderDevUi } from "../../src/ui/dev/render.js";
import { eventually } from "../support/eventually.js";

const NOW = 1_750_000_000_000;

const problem: ProblemReport = { stage: "build", message: "The Dockerfile failed at step 3/9.", details: [], hint: "Fix requirements.txt." };

function state(change: Partial<DevState> = {}): DevState {
  return {
    ...initialState({ name: "iris-classifier", dir: "/models/iris" }),
    cluster: {
      status: "ready",
      info: {
        provider: "kind",
        name: "mlkube",
        context: "kind-mlkube",
        deliveryPath: "load",
        deliveryReason: "the cluster announces no registry: loading the whole image into the node",
      },
    },
    pending: EMPTY_CHANGES,
    ...change,
  };
}

function renderApp(initial: DevState = state(), logs = new LogStore()) {
  const store = new Store<DevState, DevAction>(initial, reduce);
  const dispatched: DevAction[] = [];
  const dispatch = store.dispatch.bind(store);
  store.dispatch = (action) => {
    dispatched.push(action);
    dispatch(action);
  };
  const onQuit = vi.fn();
  const app = render(<DevApp store={store} logs={logs} holdReason={() => undefined} onQuit={onQuit} colors={false} now={() => NOW} />);
  Object.defineProperty(app.stdout, "rows", { value: 40, configurable: true });
  app.stdout.emit("resize");
  return { ...app, store, logs, dispatched, onQuit, frame: () => app.lastFrame() ?? "" };
}

/** Lets Ink's input handling and React's effects run after a write. */
const press = async (app: { stdin: { write(data: string): void } }, ...keys: string[]) => {
  for (const key of keys) {
    app.stdin.write(key);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
};

describe("keyPresses", () => {
  // A plain letter's key, as the split makes it: every flag false.
  const plain = keyPresses("ab", {} as Key).at(0)![1];

  it("splits a read of several characters into the presses Ink reads one by one", () => {
    expect(keyPresses("\x03\x03", plain)).toEqual([
      ["c", { ...plain, ctrl: true }],
      ["c", { ...plain, ctrl: true }],
    ]);
    expect(keyPresses("qQ\r\t\x7f", plain)).toEqual([
      ["q", plain],
      ["Q", { ...plain, shift: true }],
      ["", { ...plain, return: true }],
      ["", { ...plain, tab: true }],
      ["", { ...plain, delete: true }],
    ]);
  });

  it("keeps a single press, an emoji included, as Ink gave it", () => {
    const ctrlC = { ...plain, ctrl: true };
    expect(keyPresses("c", ctrlC)).toEqual([["c", ctrlC]]);
    expect(keyPresses("🚀", plain)).toEqual([["🚀", plain]]);
  });
});

describe("dev UI keys", () => {
  let unmount: (() => void) | undefined;
  afterEach(() => {
    unmount?.();
    unmount = undefined;
  });
  const mount = (...args: Parameters<typeof renderApp>) => {
    const app = renderApp(...args);
    unmount = app.unmount;
    return app;
  };

  it("r asks for a rebuild now, t for the tests, p toggles watching", async () => {
    const app = mount();
    await press(app, "r", "t", "p");
    expect(app.dispatched).toEqual([{ type: "key/rebuild", at: NOW }, { type: "key/test", at: NOW }, { type: "key/pause" }]);
    expect(app.store.getState().pending.force).toBe(true);
    await eventually(() => expect(app.frame()).toContain("[paused]"));
    expect(app.frame()).toContain("p resume");
  });

  it("q and Ctrl-C call onQuit and never exit the process", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation(() => undefined as never);
    const app = mount();
    await press(app, "q");
    expect(app.onQuit.mock.calls).toEqual([["quit"]]);
    await press(app, "\x03");
    expect(app.onQuit.mock.calls).toEqual([["quit"], ["interrupt"]]);
    expect(exit).not.toHaveBeenCalled();
    exit.mockRestore();
  });

  it("two Ctrl-C in one read are two presses: the second one forces the exit", async () => {
    const app = mount();
    await press(app, "\x03\x03");
    expect(app.onQuit.mock.calls).toEqual([["interrupt"], ["interrupt"]]);
  });

  it("keys queued in one read each count, in order; a paste into the search stays text", async () => {
    const app = mount();
    await press(app, "rt\x03");
    expect(app.dispatched).toEqual([
      { type: "key/rebuild", at: NOW },
      { type: "key/test", at: NOW },
    ]);
    expect(app.onQuit.mock.calls).toEqual([["interrupt"]]);
    await press(app, "/", "Predict failed", "\r");
    await eventually(() => expect(app.frame()).toContain("search “Predict failed”"));
    expect(app.dispatched).toHaveLength(2);
  });

  it("? shows the key help and any key closes it", async () => {
    const app = mount();
    await press(app, "?");
    await eventually(() => expect(app.frame()).toContain("clear the log view and dismiss the error panel"));
    await press(app, "x");
    await eventually(() => expect(app.frame()).not.toContain("clear the log view and dismiss the error panel"));
    expect(app.dispatched).toEqual([]);
  });

  it("d shows why this delivery path was chosen", async () => {
    const app = mount();
    await press(app, "d");
    await eventually(() => expect(app.frame()).toContain("why load: the cluster announces no registry"));
  });

  it("c dismisses the error panel and clears the log view; a new problem shows again", async () => {
    const logs = new LogStore();
    logs.append({ pod: "iris-a", container: "model", text: "before clear" });
    const app = mount(state({ problem }), logs);
    await eventually(() => expect(app.frame()).toContain("✗ build: The Dockerfile failed"));
    expect(app.frame()).toContain("before clear");
    await press(app, "c");
    await eventually(() => expect(app.frame()).not.toContain("The Dockerfile failed"));
    expect(app.frame()).not.toContain("before clear");
    logs.append({ pod: "iris-a", container: "model", text: "after clear" });
    await eventually(() => expect(app.frame()).toContain("after clear"));
    app.store.dispatch({ type: "cluster/failed", problem: { stage: "cluster", message: "The kind node stopped.", details: [] } });
    await eventually(() => expect(app.frame()).toContain("✗ cluster: The kind node stopped."));
  });

  it("/ types a search that filters the logs; Esc drops it", async () => {
    const logs = new LogStore();
    for (const text of ["GET /healthz 200", "POST /predict 200", "ERROR predict failed", "GET /healthz 200"])
      logs.append({ pod: "iris-a", container: "model", text });
    const app = mount(state(), logs);
    await press(app, "/", "predict");
    await eventually(() => expect(app.frame()).toContain("/predict▌"));
    // Letters typed into the search are not commands.
    expect(app.dispatched).toEqual([]);
    await press(app, "\r");
    await eventually(() => expect(app.frame()).toContain("search “predict”"));
    expect(app.frame()).not.toContain("healthz");
    expect(app.frame()).toContain("ERROR predict failed");
    await press(app, "\x1b");
    await eventually(() => expect(app.frame()).toContain("healthz"));
  });

  it("l focuses the logs: scrolling back pauses, End follows again, Tab picks a pod", async () => {
    const logs = new LogStore();
    for (let index = 1; index <= 100; index++) logs.append({ pod: index % 2 ? "iris-a" : "iris-b", container: "model", text: `line ${index}` });
    const app = mount(state(), logs);
    await eventually(() => expect(app.frame()).toContain("line 100"));
    await press(app, "l", "\x1b[5~"); // PgUp
    await eventually(() => expect(app.frame()).toContain("paused (End follows)"));
    expect(app.frame()).not.toContain("line 100");
    await press(app, "\x1b[F"); // End
    await eventually(() => expect(app.frame()).toContain("following"));
    expect(app.frame()).toContain("line 100");
    await press(app, "\t");
    await eventually(() => expect(app.frame()).toContain("pod iris-a"));
    expect(app.frame()).toContain("line 99");
    expect(app.frame()).not.toContain("line 100");
  });
});

/** Just enough of a terminal for Ink: a TTY stdin that can be typed into, and a sized stdout. */
class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write(data: string) {
    this.data = data;
    this.emit("readable");
  }
  read() {
    const data = this.data;
    this.data = null;
    return data;
  }
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

class FakeStdout extends EventEmitter {
  columns = 80;
  rows = 24;
  output = "";
  write(chunk: string) {
    this.output += chunk;
    return true;
  }
}

describe("renderDevUi", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("quits through onQuit on Ctrl-C, and unmounting ends it", async () => {
    // Ink routes console output above the view through console.Console, which vitest's console lacks.
    const { Console } = await import("node:console");
    vi.stubGlobal("console", Object.assign(Object.create(console) as Console, { Console }));
    const stdin = new FakeStdin();
    const stdout = new FakeStdout();
    const onQuit = vi.fn();
    const ui = renderDevUi({
      store: new Store<DevState, DevAction>(state(), reduce),
      logs: new LogStore(),
      holdReason: () => "waiting: cluster not ready",
      onQuit,
      stdin: stdin as unknown as NodeJS.ReadStream,
      stdout: stdout as unknown as NodeJS.WriteStream,
      noColor: true,
    });
    // Under CI=true Ink writes only the final frame, on unmount: so the frame is checked after it.
    stdin.write("\x03");
    await eventually(() => expect(onQuit).toHaveBeenCalledTimes(1));
    ui.unmount();
    await ui.waitUntilExit();
    expect(stdout.output).toContain("iris-classifier");
  });
});
