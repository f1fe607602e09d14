import { describe, expect, it } from "vitest";
import { EMPTY_CHANGES } from "../../src/core/dev/changes.js";
import { initialState, reduce, type DevAction, type DevState } from "../../src/core/dev/state.js";
import type { PruneScope } from "../../src/core/image-pruning.js";
import { startImagePruner } from "../../src/engine/image-pruner.js";
import { Store } from "../../src/engine/store.js";
import { eventsOf, type DevEvent } from "../../src/ui/dev/events.js";

const IMAGE = "localhost:5001/iris:0123456789abcdef";

function iteration(store: Store<DevState, DevAction>, id: number, result: "success" | "failed"): void {
  store.dispatch({ type: "iteration/started", id, changes: { ...EMPTY_CHANGES, force: true, paths: [] }, stages: ["build", "deliver"], at: 0 });
  store.dispatch({ type: "build/result", id, image: IMAGE, cached: false });
  store.dispatch({ type: "deliver/result", id, path: "registry", podImage: IMAGE });
  store.dispatch({ type: "iteration/finished", id, at: 1, result });
}

/** Every event the store's actions make from now on, as the printer would print them. */
function recordEvents(store: Store<DevState, DevAction>): DevEvent[] {
  const events: DevEvent[] = [];
  store.onAction((action, before, after) => events.push(...eventsOf(action, before, after)));
  return events;
}

/** Lets the store's notification (a microtask) and the pass's promises run: no timer is involved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("pruning old images after verified iterations", () => {
  it("prunes once per verified iteration, keeping what the cluster runs, and adds up what it reclaimed", async () => {
    const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
    const scopes: PruneScope[] = [];
    const pruner = startImagePruner(store, {
      runningImages: async () => [IMAGE, "sha256:running"],
      prune: async (scope) => {
        scopes.push(scope);
        return { removed: ["localhost:5001/iris:aaaaaaaaaaaaaaaa", "localhost:5001/iris:bbbbbbbbbbbbbbbb"], reclaimedBytes: 5_000_000 };
      },
    });
    const events = recordEvents(store);
    iteration(store, 1, "success");
    await settle();
    await pruner.idle();
    expect(scopes).toEqual([{ model: "iris", repository: "localhost:5001/iris", running: [IMAGE, "sha256:running"] }]);
    expect(store.getState().pruned.engine).toEqual({ images: 2, reclaimedBytes: 5_000_000 });
    expect(events).toContainEqual({
      type: "images.pruned",
      where: "engine",
      removed: 2,
      reclaimedBytes: 5_000_000,
      totalRemoved: 2,
      totalReclaimedBytes: 5_000_000,
    });

    store.dispatch({ type: "key/pause" }); // any later state change: no second pass for the same iteration
    iteration(store, 2, "failed");
    await settle();
    await pruner.idle();
    expect(scopes).toHaveLength(1);
    iteration(store, 3, "success");
    await settle();
    await pruner.idle();
    expect(scopes).toHaveLength(2);
    expect(store.getState().pruned.engine).toEqual({ images: 4, reclaimedBytes: 10_000_000 });
    pruner.stop();
  });

  it("prunes nothing when the cluster cannot say what its pods run, and says nothing when nothing went", async () => {
    const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
    let pruned = 0;
    const cluster: { running: string[] | undefined } = { running: undefined };
    const pruner = startImagePruner(store, {
      runningImages: async () => cluster.running,
      prune: async () => {
        pruned += 1;
        return { removed: [], reclaimedBytes: 0 };
      },
    });
    iteration(store, 1, "success");
    await settle();
    await pruner.idle();
    expect(pruned).toBe(0);
    cluster.running = [IMAGE];
    iteration(store, 2, "success");
    await settle();
    await pruner.idle();
    expect(pruned).toBe(1);
    expect(store.getState().pruned.engine).toEqual({ images: 0, reclaimedBytes: 0 });
    pruner.stop();
  });

  it("prunes the local registry after the engine, counts what its collector gave back, and stops asking once it refuses deletes", async () => {
    const store = new Store<DevState, DevAction>(initialState({ name: "iris", dir: "/m" }), reduce);
    const answers = [
      { removed: ["localhost:5001/iris:aaaaaaaaaaaaaaaa"], reclaimedBytes: 0 }, // deleted; the collector could not run yet
      { removed: [], reclaimedBytes: 3_000_000 }, // the next pass's collection freed it
      { removed: [], reclaimedBytes: 0, unsupported: "the registry localhost:5001 does not allow deletes" },
    ];
    let registryPasses = 0;
    const pruner = startImagePruner(store, {
      runningImages: async () => [IMAGE],
      prune: async () => ({ removed: [], reclaimedBytes: 0 }),
      pruneRegistry: async () => answers[registryPasses++]!,
    });
    const events = recordEvents(store);
    /** The pruning events after each iteration. */
    const seen: DevEvent[][] = [];
    for (const id of [1, 2, 3, 4]) {
      const from = events.length;
      iteration(store, id, "success");
      await settle();
      await pruner.idle();
      seen.push(events.slice(from).filter((event) => event.type.startsWith("images.")));
    }
    expect(registryPasses).toBe(3); // the fourth pass does not ask a registry that refused
    expect(store.getState().pruned.registry).toEqual({ images: 1, reclaimedBytes: 3_000_000 });
    expect(store.getState().pruned.engine).toEqual({ images: 0, reclaimedBytes: 0 });
    expect(seen[1]).toContainEqual({
      type: "images.pruned",
      where: "registry",
      removed: 0,
      reclaimedBytes: 3_000_000,
      totalRemoved: 1,
      totalReclaimedBytes: 3_000_000,
    });
    expect(seen[2]).toContainEqual({ type: "images.registryPruningOff", reason: "the registry localhost:5001 does not allow deletes" });
    expect(seen[3]).toEqual([]);
    pruner.stop();
  });
});
