import { describe, expect, it } from "vitest";
import { isLoopback, listenAnnouncements } from "../../src/core/listen-announcements.js";

describe("where a server says it listens", () => {
  it.each([
    ["Flask (werkzeug)", " * Running on http://127.0.0.1:5000", [{ host: "127.0.0.1", port: 5000 }]],
    ["uvicorn", "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)", [{ host: "0.0.0.0", port: 8000 }]],
    ["gunicorn", "[2026-12-05 10:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:8080 (1)", [{ host: "0.0.0.0", port: 8080 }]],
    ["IPv6", "Listening on http://[::1]:9000", [{ host: "::1", port: 9000 }]],
    ["a bare address", "server listening on 0.0.0.0:7070", [{ host: "0.0.0.0", port: 7070 }]],
    ["a port only", "KServe v1 server for model iris listening on port 8080", [{ host: undefined, port: 8080 }]],
    ["TorchServe-like", "Inference API bind to: http://0.0.0.0:8085", [{ host: "0.0.0.0", port: 8085 }]],
  ])("reads %s", (_server, line, expected) => {
    expect(listenAnnouncements([line]).map(({ host, port }) => ({ host, port }))).toEqual(expected);
  });

  it("ignores lines that only mention an address", () => {
    expect(listenAnnouncements(["Connecting to redis at localhost:6379", "GET http://10.0.0.5:9000/weights 200", "loaded 4 features"])).toEqual([]);
  });

  it("knows the loopback addresses", () => {
    expect(["127.0.0.1", "127.0.1.1", "localhost", "::1"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "10.244.0.5", "::", undefined].some(isLoopback)).toBe(false);
  });
});
