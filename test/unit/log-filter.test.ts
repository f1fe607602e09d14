import { describe, expect, it } from "vitest";
import { isErrorLine, lastErrorSeq, MatchIndex, parseSearch } from "../../src/engine/log-filter.js";
import { LogStore } from "../../src/engine/log-store.js";
import { compactJsonLine } from "../../src/ui/dev/json-log.js";

function storeWith(texts: readonly string[], options: ConstructorParameters<typeof LogStore>[0] = {}): LogStore {
  const store = new LogStore(options);
  for (const text of texts) store.append({ pod: "iris-a", container: "model", text });
  return store;
}

describe("parseSearch", () => {
  it("reads plain text as a substring and re: as a case-insensitive regular expression", () => {
    expect(parseSearch("")).toEqual({});
    expect(parseSearch("re:")).toEqual({});
    expect(parseSearch("predict failed")).toEqual({ search: "predict failed" });
    const { pattern } = parseSearch("re:status=(4|5)\\d\\d");
    expect(pattern?.test("STATUS=503")).toBe(true);
    expect(pattern?.test("status=200")).toBe(false);
  });

  it("says what is wrong with an invalid regular expression instead of throwing", () => {
    expect(parseSearch("re:(predict")).toEqual({ error: "invalid regular expression “(predict”: Unterminated group" });
    expect(parseSearch("re:*")).toEqual({ error: "invalid regular expression “*”: Nothing to repeat" });
    // Without the prefix the same text is just text.
    expect(parseSearch("(predict")).toEqual({ search: "(predict" });
  });
});

describe("LogStore filters", () => {
  it("filters by container, by regular expression, and lists each pod's containers", () => {
    const store = new LogStore();
    store.append({ pod: "iris-a", container: "model", text: "GET /predict 200" });
    store.append({ pod: "iris-a", container: "sidecar", text: "GET /metrics 200" });
    store.append({ pod: "iris-b", container: "model", text: "POST /predict 500" });
    store.appendNotice({ pod: "iris-b", message: "container model restarted" });
    expect(store.tail({ pod: "iris-a", container: "sidecar" }, 10).map((line) => line.text)).toEqual(["GET /metrics 200"]);
    expect(store.tail({ pattern: /\s5\d\d$/ }, 10).map((line) => line.text)).toEqual(["POST /predict 500"]);
    expect(store.sources()).toEqual([
      { pod: "iris-a", containers: ["model", "sidecar"] },
      { pod: "iris-b", containers: ["model", ""] },
    ]);
  });

  it("forgets a container once its last line is evicted", () => {
    const store = new LogStore({ capacity: 2 });
    store.append({ pod: "iris-a", container: "init", text: "once" });
    store.append({ pod: "iris-a", container: "model", text: "one" });
    store.append({ pod: "iris-a", container: "model", text: "two" });
    expect(store.sources()).toEqual([{ pod: "iris-a", containers: ["model"] }]);
  });
});

describe("MatchIndex", () => {
  it("counts the held matching lines and those newer than a position, as lines arrive and leave", () => {
    const store = storeWith(["a hit", "miss", "b hit", "miss", "c hit"], { capacity: 4 });
    const index = new MatchIndex({ search: "hit" });
    index.update(store);
    // "a hit" (seq 1) was evicted by the capacity of 4.
    expect(index.count).toBe(2);
    expect(index.newerThan(3)).toBe(1);
    expect(index.newerThan(0)).toBe(2);
    for (let count = 0; count < 3; count++) store.append({ pod: "iris-a", container: "model", text: `hit ${count}` });
    index.update(store);
    // Held now: seq 5 ("c hit"), 6, 7, 8.
    expect(index.count).toBe(4);
    expect(index.newerThan(5)).toBe(3);
  });

  it("stays bounded by the store through a long flood", () => {
    const store = new LogStore({ capacity: 100 });
    const index = new MatchIndex({});
    for (let round = 0; round < 50; round++) {
      for (let count = 0; count < 100; count++) store.append({ pod: "p", container: "c", text: "x" });
      index.update(store);
    }
    expect(index.count).toBe(100);
    expect(index.newerThan(store.latestSeq - 10)).toBe(10);
  });
});

describe("error lines", () => {
  it("knows level words, logfmt and JSON levels, and a traceback's first line; not prose", () => {
    expect(isErrorLine("2026-12-05 12:00:01 ERROR predict failed")).toBe(true);
    expect(isErrorLine("[2026-12-05 12:00:01,123] CRITICAL model not loaded")).toBe(true);
    expect(isErrorLine('time=12:00 level=error msg="bad input"')).toBe(true);
    expect(isErrorLine('{"level": "error", "msg": "bad input"}')).toBe(true);
    expect(isErrorLine("Traceback (most recent call last):")).toBe(true);
    expect(isErrorLine("0 errors, no error seen")).toBe(false);
    expect(isErrorLine("INFO loaded model.pkl")).toBe(false);
  });

  it("finds the newest error line matching the filter at or before a position", () => {
    const store = storeWith(["ERROR one", "ok", "Traceback (most recent call last):", '  File "app.py", line 3', "ValueError: bad", "ok"]);
    expect(lastErrorSeq(store, {}, store.latestSeq)).toBe(3);
    expect(lastErrorSeq(store, {}, 2)).toBe(1);
    expect(lastErrorSeq(store, { search: "one" }, store.latestSeq)).toBe(1);
    expect(lastErrorSeq(store, { pod: "other" }, store.latestSeq)).toBeUndefined();
  });
});

describe("compactJsonLine", () => {
  it("reads the level and message of the common JSON loggers", () => {
    expect(compactJsonLine('{"asctime": "2026-12-05", "levelname": "INFO", "message": "loaded model", "path": "/m"}')).toEqual({
      level: "INFO",
      message: "loaded model",
      otherFields: 1,
    });
    expect(compactJsonLine('{"level":50,"time":1,"msg":"boom","pid":7,"hostname":"h"}')).toEqual({ level: "ERROR", message: "boom", otherFields: 2 });
    expect(compactJsonLine('{"event": "request", "level": "warning"}')).toEqual({ level: "WARNING", message: "request", otherFields: 0 });
    expect(compactJsonLine('{"msg": "no level"}')).toEqual({ level: undefined, message: "no level", otherFields: 0 });
  });

  it("leaves everything else alone", () => {
    expect(compactJsonLine("plain text")).toBeUndefined();
    expect(compactJsonLine("{not json}")).toBeUndefined();
    expect(compactJsonLine('{"no": "message"}')).toBeUndefined();
    expect(compactJsonLine("[1, 2]")).toBeUndefined();
  });
});
