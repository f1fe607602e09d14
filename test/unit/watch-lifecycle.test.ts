/**
 * Watcher failures reach the user and heal (issue 14): a watcher that dies is said in the plain
 * output and in --json, with the fix, and a new one starts with the loop's back-off, picking up
 * what changed meanwhile; the kernel's watch limit switches to polling at once.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ModelWatcher } from "../../src/adapters/watch/watcher.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { keepWatching, type WatcherStart } from "../../src/engine/watch-lifecycle.js";
import { startPlainPrinter } from "../../src/ui/dev/plain.js";

/** Watchers the test fails by hand; each records how it was started. */
function fakeWatchers() {
  const started: (WatcherStart & { closed: boolean; contents: Map<string, string> })[] = [];
  const start = (options: WatcherStart): ModelWatcher => {
    const entry = { ...options, closed: false, contents: new Map([["app.py", `digest ${started.length + 1}`]]) };
    started.push(entry);
    return {
      ready: Promise.resolve(),
      contents: () => entry.contents,
      close: async () => {
        entry.closed = true;
      },
    };
  };
  return { started, start };
}

function setUp(format: "text" | "json") {
  const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const printer = startPlainPrinter({ store, logs: new LogStore(), holdReason: () => undefined, out, format, now: () => new Date(0) });
  return { store, printer, text: () => chunks.join("") };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function errno(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("keeping the model directory watched", () => {
  it("a watcher that dies is said (text and JSON) and a new one starts after the back-off, from what the dead one had seen", async () => {
    for (const format of ["text", "json"] as const) {
      const { store, printer, text } = setUp(format);
      const { started, start } = fakeWatchers();
      const sleeps: number[] = [];
      let wake!: () => void;
      const controller = new AbortController();
      const sleep = (ms: number) => {
        sleeps.push(ms);
        return new Promise<void>((resolve) => (wake = resolve));
      };
      const watching = keepWatching(start, (action) => store.dispatch(action), { signal: controller.signal, backoff: { sleep } });
      await settle();
      expect(started).toHaveLength(1);

      started[0]!.onError(errno("EACCES: permission denied, watch '/m/data'", "EACCES"));
      await settle();
      expect(started[0]!.closed).toBe(true);
      expect(store.getState().watching).toBe("stopped");
      expect(sleeps).toEqual([2_000]);
      wake();
      await settle();
      expect(started).toHaveLength(2);
      expect(started[1]!.usePolling).toBe(false);
      expect(started[1]!.resumeFrom).toEqual(new Map([["app.py", "digest 1"]]));
      expect(store.getState().watching).toBe("events");

      controller.abort();
      await watching;
      expect(started[1]!.closed).toBe(true);
      printer.stop();
      if (format === "text") {
        expect(text()).toContain(
          "watch FAILED: File watching stopped: EACCES: permission denied, watch '/m/data'. Trying again in 2 s; changes made meanwhile are picked up then.",
        );
        expect(text()).toContain("problem in watch: File watching stopped");
        expect(text()).toContain("watching again");
      } else {
        const events = text()
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { type: string });
        expect(events).toContainEqual(
          expect.objectContaining({ type: "watch.failed", watching: "stopped", message: expect.stringContaining("Trying again in 2 s") }),
        );
        expect(events).toContainEqual(expect.objectContaining({ type: "problem", stage: "watch", hint: expect.stringContaining("press r") }));
        expect(events).toContainEqual({ ts: new Date(0).toISOString(), type: "watch.restored", watching: "events" });
      }
    }
  });

  it("a watcher that keeps dying waits longer each time (2 s, 4 s, 8 s) and says each failure", async () => {
    const { store, printer, text } = setUp("json");
    const { started, start } = fakeWatchers();
    const sleeps: number[] = [];
    const controller = new AbortController();
    const watching = keepWatching(start, (action) => store.dispatch(action), {
      signal: controller.signal,
      backoff: {
        sleep: async (ms) => {
          sleeps.push(ms);
          if (sleeps.length === 3) controller.abort();
        },
      },
    });
    for (let failure = 0; failure < 3; failure++) {
      await settle();
      started.at(-1)!.onError(new Error("inotify_add_watch failed"));
    }
    await watching;
    printer.stop();
    expect(sleeps).toEqual([2_000, 4_000, 8_000]);
    const failed = text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; message?: string })
      .filter((event) => event.type === "watch.failed");
    expect(failed.map((event) => event.message)).toEqual([2, 4, 8].map((s) => expect.stringContaining(`Trying again in ${s} s`)));
  });

  it("the kernel's watch limit switches to polling at once and names the sysctl that raises it", async () => {
    const { store, printer, text } = setUp("text");
    const { started, start } = fakeWatchers();
    const controller = new AbortController();
    const watching = keepWatching(start, (action) => store.dispatch(action), {
      signal: controller.signal,
      backoff: { sleep: () => new Promise(() => undefined) },
    });
    await settle();
    started[0]!.onError(errno("ENOSPC: System limit for number of file watchers reached, watch '/m'", "ENOSPC"));
    await settle();
    expect(started).toHaveLength(2);
    expect(started[1]!.usePolling).toBe(true);
    expect(store.getState().watching).toBe("polling");
    controller.abort();
    await watching;
    printer.stop();
    expect(text()).toContain("(now watching by polling)");
    expect(text()).toContain("fix: Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288");
  });
});
