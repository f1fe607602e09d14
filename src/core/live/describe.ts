/** How live update is said, the same in the dev loop's lines, its TUI and `mlkube status`. */
import type { Route } from "../dev/state.js";

/** "live update: model.pkl is covered by a sync rule" / "rebuild: requirements.txt changed". */
export function describeRoute(route: Route): string {
  return `${route.kind === "sync" ? "live update" : "rebuild"}: ${route.reason}`;
}

/** "live: 2 files ahead of image iris:3f2a (app.py, model.pkl)", or that the pods run the image as built. */
export function describeLive(live: { ahead: readonly string[]; image?: string | undefined; off?: string | undefined }): string {
  if (live.off && live.ahead.length === 0) return `live update off: ${live.off}`;
  if (live.ahead.length === 0) return `live: the pods run the image${live.image ? ` ${live.image}` : ""} as built`;
  const files = live.ahead.length === 1 ? "1 file" : `${live.ahead.length} files`;
  return `live: ${files} ahead of image ${live.image ?? "(none)"} (${live.ahead.slice(0, 5).join(", ")}${live.ahead.length > 5 ? ", ..." : ""})`;
}
