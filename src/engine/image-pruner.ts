/**
 * After each verified iteration, removes the images of this model that mlkube built and nothing
 * needs any more (core/image-pruning.ts: no pod runs them, not among the newest few), so a day of
 * edits does not fill the disk (issue #15). One pass at a time, in the background; a pass is
 * skipped when the cluster cannot say what its pods run, since then nothing is known to be unused.
 */
import type { DevAction, DevState } from "../core/dev/state.js";
import type { PruneScope } from "../core/image-pruning.js";
import { repositoryOf } from "../manifests/image-ref.js";
import type { Store } from "./store.js";

export interface ImagePrunerDeps {
  prune(scope: PruneScope): Promise<{ removed: string[]; reclaimedBytes: number }>;
  /** Every image the cluster's pods run (references and image IDs), or undefined when it cannot tell. */
  runningImages(): Promise<string[] | undefined>;
}

export function startImagePruner(store: Store<DevState, DevAction>, deps: ImagePrunerDeps): { stop(): void; idle(): Promise<void> } {
  let prunedAfter = 0;
  let pass: Promise<void> = Promise.resolve();
  let passing = false;
  let stopped = false;

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
    try {
      const running = await deps.runningImages();
      if (!running || stopped) return;
      const result = await deps.prune({ model, repository, running });
      if (result.removed.length > 0 && !stopped) store.dispatch({ type: "images/pruned", removed: result.removed.length, reclaimedBytes: result.reclaimedBytes });
    } catch {
      // Housekeeping: the next verified iteration tries again.
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
