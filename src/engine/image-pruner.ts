/**
 * After each verified iteration, removes the images of this model that mlkube built and nothing
 * needs any more (core/image-pruning.ts: no pod runs them, not among the newest few), so a day of
 * edits does not fill the disk (issue #15): from the engine that built them, then from the local
 * registry they were pushed to. One pass at a time, in the background; a pass is skipped when the
 * cluster cannot say what its pods run, since then nothing is known to be unused.
 */
import type { DevAction, DevState } from "../core/dev/state.js";
import type { PruneScope } from "../core/image-pruning.js";
import { repositoryOf } from "../manifests/image-ref.js";
import type { Store } from "./store.js";

interface PruneOutcome {
  removed: string[];
  reclaimedBytes: number;
}

interface ImagePrunerDeps {
  prune(scope: PruneScope): Promise<PruneOutcome>;
  /** The local registry's part, where images are pushed to one; `unsupported` says why it cannot delete. */
  pruneRegistry?: ((scope: PruneScope) => Promise<PruneOutcome & { unsupported?: string | undefined }>) | undefined;
  /** Every image the cluster's pods run (references and image IDs), or undefined when it cannot tell. */
  runningImages(): Promise<string[] | undefined>;
}

export function startImagePruner(store: Store<DevState, DevAction>, deps: ImagePrunerDeps): { stop(): void; idle(): Promise<void> } {
  let prunedAfter = 0;
  let pass: Promise<void> = Promise.resolve();
  let passing = false;
  let stopped = false;
  /** Set once the registry refused a delete: it will refuse every later one too. */
  let registryOff = false;

  const onState = () => {
    if (passing || stopped) return;
    const state = store.getState();
    const verified = state.history.findLast((entry) => entry.result === "success" && entry.image !== undefined);
    if (!verified || verified.id <= prunedAfter) return;
    prunedAfter = verified.id;
    passing = true;
    pass = prunePass(state.model.name, repositoryOf(verified.image!)).finally(() => {
      passing = false;
    });
  };

  const prunePass = async (model: string, repository: string): Promise<void> => {
    const running = await deps.runningImages().catch(() => undefined);
    if (!running || stopped) return;
    const scope = { model, repository, running };
    // Housekeeping: a part that fails is tried again after the next verified iteration.
    const engine = await deps.prune(scope).catch(() => undefined);
    if (engine && engine.removed.length > 0 && !stopped)
      store.dispatch({ type: "images/pruned", where: "engine", removed: engine.removed.length, reclaimedBytes: engine.reclaimedBytes });
    if (!deps.pruneRegistry || registryOff || stopped) return;
    const registry = await deps.pruneRegistry(scope).catch(() => undefined);
    if (!registry || stopped) return;
    if (registry.removed.length > 0 || registry.reclaimedBytes > 0)
      store.dispatch({ type: "images/pruned", where: "registry", removed: registry.removed.length, reclaimedBytes: registry.reclaimedBytes });
    if (registry.unsupported) {
      registryOff = true;
      store.dispatch({ type: "images/registryPruningOff", reason: registry.unsupported });
    }
  };

  const unsubscribe = store.subscribe(onState);
  return {
    stop() {
      stopped = true;
      unsubscribe();
    },
    idle: () => pass,
  };
}
