import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { countByType, diagnosticsInterval, listenerTotal, startDiagnostics, type DiagnosticsSample } from "../../src/engine/diagnostics.js";
import { Store } from "../../src/engine/store.js";

describe("the diagnostics event (MLKUBE_DIAGNOSTICS_MS)", () => {
  it("is on only for a positive whole number of milliseconds", () => {
    expect(diagnosticsInterval({ MLKUBE_DIAGNOSTICS_MS: "1000" })).toBe(1000);
    for (const value of [undefined, "", "0", "-5", "2.5", "soon"]) expect(diagnosticsInterval({ MLKUBE_DIAGNOSTICS_MS: value })).toBeUndefined();
  });

  it("counts the active resources by type", () => {
    expect(countByType(["TCPSocketWrap", "Timeout", "TCPSocketWrap", "FSEvent"])).toEqual({ TCPSocketWrap: 2, Timeout: 1, FSEvent: 1 });
    expect(countByType([])).toEqual({});
  });

  it("sums the listeners of emitters and the subscribers of stores, and sees a subscription undone", () => {
    const emitter = new EventEmitter();
    emitter.on("data", () => undefined);
    emitter.on("data", () => undefined);
    emitter.once("end", () => undefined);
    const store = new Store<number, number>(0, (state, action) => state + action);
    const unsubscribe = store.subscribe(() => undefined);
    store.subscribe(() => undefined);
    expect(listenerTotal([emitter, store])).toBe(5);
    unsubscribe();
    expect(listenerTotal([emitter, store])).toBe(4);
  });

  it("says where memory is: the heap used and reserved, and what lies outside it", async () => {
    const sample = await new Promise<DiagnosticsSample>((resolve) => {
      const sampler = startDiagnostics(5, [], (taken) => {
        sampler.stop();
        resolve(taken);
      });
    });
    expect(sample.heapUsedMb).toBeGreaterThan(0);
    expect(sample.heapTotalMb).toBeGreaterThanOrEqual(sample.heapUsedMb);
    expect(sample.externalMb).toBeGreaterThan(0);
    expect(sample.rssMb).toBeGreaterThan(sample.heapUsedMb);
  });
});
