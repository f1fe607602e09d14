import { describe, expect, it } from "vitest";
import { LogStore } from "../../src/engine/log-store.js";
import { foldedSeek, foldedTail, foldShape } from "../../src/ui/dev/log-fold.js";

const WERKZEUG = (second: number) => `127.0.0.1 - - [05/Dec/2026 12:00:${String(second).padStart(2, "0")}] "GET / HTTP/1.1" 200 -`;
const UVICORN = (port: number) => `INFO:     10.244.0.1:${port} - "GET /healthz HTTP/1.1" 200 OK`;
const PROBE = (ms: number) => `10.244.0.1 - - "GET /ready HTTP/1.1" 200 2 "-" "kube-probe/1.32" ${ms}ms`;

function storeOf(lines: readonly (string | [string, string])[]): LogStore {
  const store = new LogStore();
  for (const line of lines) {
    const [container, text] = typeof line === "string" ? ["model", line] : line;
    store.append({ pod: "iris-a", container, text });
  }
  return store;
}

const rows = (store: LogStore, count = 50, endSeq?: number) => foldedTail(store, {}, count, endSeq).map(({ entry, count: times }) => `${times}× ${entry.text}`);

describe("foldShape", () => {
  it("gives probe and health-check lines that differ only in numbers one shape", () => {
    expect(foldShape(WERKZEUG(1))).toBe(foldShape(WERKZEUG(59)));
    expect(foldShape(UVICORN(52344))).toBe(foldShape(UVICORN(7)));
    expect(foldShape(PROBE(3))).toBe(foldShape(PROBE(120)));
    expect(foldShape(WERKZEUG(1))).not.toBe(foldShape(UVICORN(1)));
  });

  it("leaves predictions, other text and training progress unfolded", () => {
    expect(foldShape('127.0.0.1 - - [05/Dec/2026 12:00:01] "POST /predict HTTP/1.1" 200 -')).toBeUndefined();
    expect(foldShape("epoch 3/10 loss 0.412")).toBeUndefined();
    expect(foldShape("GET ready")).toBeUndefined();
  });
});

describe("foldedTail", () => {
  it("folds a run of one container's probe lines into its newest, with a count", () => {
    const store = storeOf(["started", WERKZEUG(1), WERKZEUG(2), WERKZEUG(3), 'x "POST /predict HTTP/1.1" 200', WERKZEUG(4), WERKZEUG(5)]);
    expect(rows(store)).toEqual(["1× started", `3× ${WERKZEUG(3)}`, '1× x "POST /predict HTTP/1.1" 200', `2× ${WERKZEUG(5)}`]);
  });

  it("does not fold across containers, or across a different line", () => {
    const store = storeOf([WERKZEUG(1), ["proxy", WERKZEUG(2)], WERKZEUG(3), UVICORN(1), WERKZEUG(4)]);
    expect(rows(store)).toHaveLength(5);
  });

  it("fills the rows asked for, the oldest row counting its whole run", () => {
    const store = storeOf([...Array.from({ length: 30 }, (_, index) => WERKZEUG(index)), "a", "b"]);
    expect(rows(store, 3)).toEqual([`30× ${WERKZEUG(29)}`, "1× a", "1× b"]);
    expect(rows(store, 2)).toEqual(["1× a", "1× b"]);
    // Ending inside the run: the run as far as the view reaches.
    expect(rows(store, 3, 10)).toEqual([`10× ${WERKZEUG(9)}`]);
  });
});

describe("foldedSeek", () => {
  // seq 1 "a", 2..11 probes, 12 "b", 13..17 probes, 18 "c"
  const store = storeOf([
    "a",
    ...Array.from({ length: 10 }, (_, index) => WERKZEUG(index)),
    "b",
    ...Array.from({ length: 5 }, (_, index) => UVICORN(index)),
    "c",
  ]);

  it("moves up by rows: a folded run is one step", () => {
    expect(foldedSeek(store, {}, 18, -1)).toBe(17);
    expect(foldedSeek(store, {}, 18, -2)).toBe(12);
    expect(foldedSeek(store, {}, 18, -3)).toBe(11);
    expect(foldedSeek(store, {}, 18, -4)).toBe(1);
    expect(foldedSeek(store, {}, 18, -9)).toBe(1);
  });

  it("moves down by rows, to the newest line of the run it lands on", () => {
    expect(foldedSeek(store, {}, 1, 1)).toBe(11);
    expect(foldedSeek(store, {}, 1, 2)).toBe(12);
    expect(foldedSeek(store, {}, 12, 1)).toBe(17);
    expect(foldedSeek(store, {}, 5, 1)).toBe(12);
    expect(foldedSeek(store, {}, 17, 5)).toBe(18);
  });
});

describe("what the folded view counts as dropped", () => {
  it("counts nothing as dropped that the folded pane had read (it can scroll back to it)", () => {
    const store = new LogStore({ capacity: 100 });
    for (let round = 0; round < 10; round++) {
      // 60 lines between reads: fewer than the store holds, so none is pushed out unread.
      for (let index = 0; index < 60; index++) store.append({ pod: "iris-a", container: "model", text: `line ${round * 60 + index}` });
      foldedTail(store, {}, 20);
    }
    expect(store.received).toBe(600);
    expect(store.dropped).toBe(0);
    // 150 lines with no read between: the 50 the store pushed out unread are dropped.
    for (let index = 0; index < 150; index++) store.append({ pod: "iris-a", container: "model", text: `burst ${index}` });
    foldedTail(store, {}, 20);
    expect(store.dropped).toBe(50);
  });
});
