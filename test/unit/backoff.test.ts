import { describe, expect, it } from "vitest";
import { withBackoff } from "../../src/engine/backoff.js";
import { nextStep } from "../../src/core/dev/planner.js";
import { initialState, reduce, type DevAction } from "../../src/core/dev/state.js";

describe("the capped exponential back-off", () => {
  it("retries with doubling delays up to the cap, reporting each failure, until it succeeds", async () => {
    const delays: number[] = [];
    const reported: [string, number, number][] = [];
    let calls = 0;
    const value = await withBackoff(
      async () => {
        calls++;
        if (calls < 6) throw new Error(`failure ${calls}`);
        return "up";
      },
      {
        initialMs: 1_000,
        maxMs: 8_000,
        sleep: async (ms) => void delays.push(ms),
        onRetry: (error, attempt, delayMs) => reported.push([(error as Error).message, attempt, delayMs]),
      },
    );
    expect(value).toBe("up");
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(reported[0]).toEqual(["failure 1", 1, 1_000]);
    expect(reported).toHaveLength(5);
  });

  it("an attempt that stayed up resetAfterMs before failing starts the back-off over (a watcher that ran for hours)", async () => {
    let clock = 0;
    const delays: number[] = [];
    const ranMs = [10, 10, 10, 120_000, 10];
    let calls = 0;
    await withBackoff(
      async () => {
        clock += ranMs[calls++] ?? 0;
        if (calls <= ranMs.length) throw new Error("watcher died");
      },
      { initialMs: 1_000, resetAfterMs: 60_000, now: () => clock, sleep: async (ms) => void delays.push(ms) },
    );
    expect(delays).toEqual([1_000, 2_000, 4_000, 1_000, 2_000]);
  });

  it("a final error (retry says no) and an abort end the retries with the last error", async () => {
    await expect(withBackoff(async () => Promise.reject(new Error("no kind")), { retry: () => false, sleep: async () => undefined })).rejects.toThrow(
      "no kind",
    );
    const controller = new AbortController();
    let calls = 0;
    const attempt = withBackoff(
      async () => {
        calls++;
        throw new Error("still down");
      },
      { signal: controller.signal, sleep: async () => controller.abort() },
    );
    await expect(attempt).rejects.toThrow("still down");
    expect(calls).toBe(1);
  });
});

describe("a failed cluster start in the loop's state", () => {
  it("says which attempt failed and when the next comes, instead of suggesting a wait that never ends", () => {
    const retry: DevAction = { type: "cluster/retry", attempt: 2, delayMs: 4_000, problem: { stage: "cluster", message: "kind create failed", details: [] } };
    const state = [retry, { type: "files/changed", changes: [{ path: "app.py", kind: "build" }], at: 1 } as DevAction].reduce(
      reduce,
      initialState({ name: "iris", dir: "/m" }),
    );
    expect(state.cluster.status).toBe("failed");
    expect(state.problem?.message).toBe("kind create failed");
    expect(nextStep(state, { abortBuildOnChange: true })).toEqual({
      kind: "hold",
      reason: "waiting: the cluster is not available (see the error); attempt 3 in 4 s",
    });
    const ready = reduce(state, {
      type: "cluster/ready",
      info: { provider: "kind", name: "k", context: "kind-k", deliveryPath: "registry", deliveryReason: "" },
    });
    expect(nextStep(ready, { abortBuildOnChange: true }).kind).toBe("start");
  });
});
