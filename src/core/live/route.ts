/**
 * Which way a change set reaches the cluster: live update (the files copied into the running pods)
 * or a rebuild, with the reason either way, for the planner and for the user.
 */
import type { ChangeSet } from "../dev/changes.js";
import type { DevState, LiveSync, Route } from "../dev/state.js";
import { planChange, type FileChange } from "./plan-change.js";

/** undefined when there is no file change to route: the first iteration, the r and t keys, manifests alone. */
export function planLiveRoute(changes: ChangeSet, state: Pick<DevState, "live" | "serving">): Route | undefined {
  if (changes.rebuildReason) return { kind: "rebuild", reason: changes.rebuildReason };
  if (!changes.build || changes.force) return undefined;
  if (changes.config) return { kind: "rebuild", reason: "mlkube.yaml changed" };
  if (changes.manifests) return { kind: "rebuild", reason: "the manifests changed too" };
  if (state.live.off) return { kind: "rebuild", reason: `live update is off (${state.live.off})` };
  if (!state.serving) return { kind: "rebuild", reason: "no version is serving yet to update" };
  // Whether a file was deleted does not change the way; the sync stage looks at the disk itself.
  const plan = planChange({
    changes: inContext(changes.paths, state.live.sync, () => "changed"),
    rules: state.live.sync.rules,
    dockerfile: state.live.sync.dockerfile,
  });
  if (plan.kind === "rebuild") return plan;
  const files = changes.paths.length === 1 ? changes.paths[0] : `${changes.paths.length} files`;
  return { kind: "sync", reason: `${files} covered by the sync rules` };
}

/** Model-directory paths as build-context paths (the watcher only reports context files as build changes). */
export function inContext(paths: readonly string[], sync: Pick<LiveSync, "context">, kindOf: (path: string) => FileChange["kind"]): FileChange[] {
  const prefix = sync.context === "" ? "" : `${sync.context}/`;
  return paths.map((path) => ({ path: path.startsWith(prefix) ? path.slice(prefix.length) : path, kind: kindOf(path) }));
}
