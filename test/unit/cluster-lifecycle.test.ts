/**
 * A failed cluster start recovers (issue 14): each attempt is retried with the loop's back-off and
 * said with its error, the next attempt's progress is shown again, and the hold reason says what
 * is really happening at each moment.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { nextStep } from "../../src/core/dev/planner.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import { bringUpCluster } from "../../src/engine/cluster-lifecycle.js";
import { LogStore } from "../../src/engine/log-store.js";
import { Store } from "../../src/engine/store.js";
import { startPlainPrinter } from "../../src/ui/dev/plain.js";
import { UserError } from "../../src/errors.js";

const PLANNER = { abortBuildOnChange: true };

function setUp() {
  const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const holdReason = () => {
    const step = nextStep(store.getState(), PLANNER);
    return step.kind === "hold" ? step.reason : undefined;
  };
  const printer = startPlainPrinter({ store, logs: new LogStore(), holdReason, out, format: "text", now: () => new Date(0) });
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.replace(/^\S+ /, ""));
  return { store, printer, lines, holdReason };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("bringing the cluster up for the dev loop", () => {
  it("retries a failed start with the back-off, saying each failure and showing the next attempt's progress, until it is up", async () => {
    const { store, printer, lines, holdReason } = setUp();
    const sleeps: number[] = [];
    let wake!: () => void;
    let attempts = 0;
    const connect = async () => {
      attempts++;
      store.dispatch({ type: "cluster/progress", detail: "kind 'mlkube': creating" });
      await Promise.resolve(); // the printer hears of the progress before the attempt ends
      if (attempts < 3) throw new UserError("cluster", `kind create cluster failed (attempt ${attempts})`, { hint: "Is Docker running?" });
      store.dispatch({
        type: "cluster/ready",
        info: { provider: "kind", name: "mlkube", context: "kind-mlkube", deliveryPath: "registry", deliveryReason: "r" },
      });
    };
    const up = bringUpCluster(connect, (action) => store.dispatch(action), {
      signal: new AbortController().signal,
      retry: true,
      backoff: { sleep: (ms) => new Promise<void>((resolve) => (sleeps.push(ms), (wake = resolve))) },
    });
    await settle();
    expect(holdReason()).toBe("waiting: the cluster is not available (see the error); attempt 2 in 2 s");
    wake();
    await settle();
    expect(sleeps).toEqual([2_000, 4_000]);
    wake();
    await expect(up).resolves.toBe(true);
    await settle();
    printer.stop();
    expect(lines()).toEqual([
      "waiting: cluster not ready",
      "cluster starting: kind 'mlkube': creating",
      "cluster attempt 1 failed: kind create cluster failed (attempt 1); trying again in 2.0s",
      "problem in cluster: kind create cluster failed (attempt 1)",
      "  fix: Is Docker running?",
      "waiting: the cluster is not available (see the error); attempt 2 in 2 s",
      "cluster starting: kind 'mlkube': creating",
      "waiting: the cluster is starting (attempt 2; the last one failed, see the error)",
      "cluster attempt 2 failed: kind create cluster failed (attempt 2); trying again in 4.0s",
      "problem in cluster: kind create cluster failed (attempt 2)",
      "  fix: Is Docker running?",
      "waiting: the cluster is not available (see the error); attempt 3 in 4 s",
      "cluster starting: kind 'mlkube': creating",
      "waiting: the cluster is starting (attempt 3; the last one failed, see the error)",
      "cluster ready: kind mlkube, context kind-mlkube; delivery registry (r)",
    ]);
  });

  it("--once gives up after the first failure, with the error as the cluster's problem; a session that ends stops the retries quietly", async () => {
    const once = setUp();
    const failing = async () => Promise.reject(new UserError("cluster", "kind is not installed"));
    await expect(bringUpCluster(failing, (action) => once.store.dispatch(action), { signal: new AbortController().signal, retry: false })).resolves.toBe(false);
    expect(once.store.getState().cluster.status).toBe("failed");
    expect(once.store.getState().problem).toMatchObject({ stage: "cluster", message: "kind is not installed" });
    once.printer.stop();

    const ending = setUp();
    const controller = new AbortController();
    const actions: DevAction[] = [];
    const result = bringUpCluster(failing, (action) => actions.push(action), {
      signal: controller.signal,
      retry: true,
      backoff: { sleep: async () => controller.abort() },
    });
    await expect(result).resolves.toBe(false);
    expect(actions.map((action) => action.type)).toEqual(["cluster/retry"]);
    ending.printer.stop();
  });
});
