import { afterEach, describe, expect, it, vi } from "vitest";
import { LogStore } from "../../src/engine/log-store.js";

const fixedNow = () => new Date("2025-06-01T12:00:00.000Z");

function fill(store: LogStore, count: number, pod = "iris-abc-x1", prefix = "line") {
  for (let index = 1; index <= count; index++) store.append({ pod, container: "model", text: `${prefix} ${index}` });
}

describe("LogStore", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps the newest lines up to its capacity and numbers them in arrival order", () => {
    const store = new LogStore({ capacity: 3, now: fixedNow });
    fill(store, 5);
    expect(store.size).toBe(3);
    expect(store.received).toBe(5);
    expect(store.latestSeq).toBe(5);
    expect(store.tail({}, 10).map((line) => [line.seq, line.text])).toEqual([
      [3, "line 3"],
      [4, "line 4"],
      [5, "line 5"],
    ]);
    expect(store.tail({}, 1)[0]).toEqual({ seq: 5, pod: "iris-abc-x1", container: "model", time: "2025-06-01T12:00:00.000Z", text: "line 5", kind: "log" });
  });

  it("evicts by bytes as well as by lines", () => {
    const store = new LogStore({ capacity: 100, maxBytes: 25 });
    fill(store, 5, "p", "0123456789");
    // Each "0123456789 N" is 12 bytes: two fit in 25.
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(24);
    expect(store.tail({}, 10).map((line) => line.text)).toEqual(["0123456789 4", "0123456789 5"]);
  });

  it("cuts a single enormous line instead of letting it fill the buffer", () => {
    const store = new LogStore({ maxLineLength: 10 });
    store.append({ pod: "p", container: "c", text: "x".repeat(25) });
    expect(store.tail({}, 1)[0]?.text).toBe("xxxxxxxxxx… (15 more characters)");
  });

  describe("dropped: evicted before any reader read the store after they arrived", () => {
    it("counts every evicted line when nobody reads", () => {
      const store = new LogStore({ capacity: 3 });
      fill(store, 10);
      expect(store.dropped).toBe(7);
    });

    it("does not count lines that were readable when a reader last read", () => {
      const store = new LogStore({ capacity: 3 });
      fill(store, 3);
      store.tail({}, 1); // the view could scroll back to all three
      fill(store, 3, "p", "more");
      expect(store.dropped).toBe(0);
      fill(store, 4, "p", "flood");
      // "more 1..3" were evicted unread, and "flood 1" too.
      expect(store.dropped).toBe(4);
    });
  });

  describe("checkpoints", () => {
    it("returns exactly the lines appended since the checkpoint", () => {
      const store = new LogStore({ capacity: 10 });
      fill(store, 2);
      const first = store.since(store.checkpoint());
      expect(first.lines).toEqual([]);
      fill(store, 3, "p", "new");
      const second = store.since(first.checkpoint);
      expect(second.lines.map((line) => line.text)).toEqual(["new 1", "new 2", "new 3"]);
      expect(second.missed).toBe(0);
      expect(store.since(second.checkpoint).lines).toEqual([]);
    });

    it("tells a reader how many lines it missed because they were evicted", () => {
      const store = new LogStore({ capacity: 4 });
      const start = store.checkpoint();
      fill(store, 10);
      const batch = store.since(start);
      expect(batch.missed).toBe(6);
      expect(batch.lines.map((line) => line.seq)).toEqual([7, 8, 9, 10]);
      expect(store.dropped).toBe(6);
    });
  });

  describe("filter and search", () => {
    const store = new LogStore({ capacity: 100 });
    store.append({ pod: "iris-a", container: "model", text: "GET /predict 200" });
    store.append({ pod: "iris-b", container: "model", text: "GET /healthz 200" });
    store.append({ pod: "iris-a", container: "model", text: "ERROR Predict failed" });
    store.append({ pod: "iris-b", container: "model", text: "GET /predict 500" });
    store.appendNotice({ pod: "iris-a", message: "container model restarted", lines: ["Traceback", "ValueError"] });

    it("filters by pod", () => {
      expect(store.tail({ pod: "iris-b" }, 10).map((line) => line.text)).toEqual(["GET /healthz 200", "GET /predict 500"]);
    });

    it("searches text case-insensitively, combined with the pod filter", () => {
      expect(store.tail({ search: "predict" }, 10).map((line) => line.seq)).toEqual([1, 3, 4]);
      expect(store.tail({ search: "PREDICT", pod: "iris-a" }, 10).map((line) => line.seq)).toEqual([1, 3]);
    });

    it("hides lines before fromSeq (the view's clear)", () => {
      expect(store.tail({ fromSeq: 4 }, 2).map((line) => line.seq)).toEqual([6, 7]);
    });

    it("keeps notices as their own kind, one entry per quoted line", () => {
      expect(store.tail({}, 3).map((line) => [line.kind, line.container, line.text])).toEqual([
        ["notice", "", "container model restarted"],
        ["notice", "", "  Traceback"],
        ["notice", "", "  ValueError"],
      ]);
    });

    it("lists the pods it holds", () => {
      expect(store.pods()).toEqual(["iris-a", "iris-b"]);
    });

    it("seeks by matching lines for scrolling", () => {
      const filter = { pod: "iris-a" };
      expect(store.seek(filter, 7, -1)).toBe(6);
      expect(store.seek(filter, 7, -100)).toBe(1);
      expect(store.seek(filter, 1, 2)).toBe(5);
      expect(store.seek(filter, 7, 5)).toBe(7);
      // Seq 4 is iris-b's: counting starts at the nearest iris-a line before it.
      expect(store.seek(filter, 4, 0)).toBe(3);
      expect(store.seek({ search: "nothing like this" }, 7, -1)).toBeUndefined();
    });
  });

  it("notifies subscribers at most once per interval however many lines arrive", () => {
    vi.useFakeTimers();
    const store = new LogStore({ notifyIntervalMs: 50 });
    const listener = vi.fn();
    store.subscribe(listener);
    fill(store, 1000);
    expect(listener).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(listener).toHaveBeenCalledTimes(1);
    fill(store, 1000);
    vi.advanceTimersByTime(20);
    expect(listener).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(30);
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it("stays bounded under 100,000 lines", () => {
    const store = new LogStore({ capacity: 5_000 });
    for (let index = 0; index < 100_000; index++) {
      store.append({ pod: `iris-${index % 3}`, container: "model", text: `INFO request ${index} served in 12ms` });
    }
    expect(store.size).toBe(5_000);
    expect(store.received).toBe(100_000);
    expect(store.dropped).toBe(95_000);
    expect(store.tail({}, 5_000_000)).toHaveLength(5_000);
    expect(store.pods()).toHaveLength(3);
    expect(store.tail({}, 1)[0]?.text).toBe("INFO request 99999 served in 12ms");
  });
});
