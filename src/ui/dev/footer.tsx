/** One line of reminders; while a search is typed, the line is the search prompt's help. */
import type { DevAction, DevState } from "../../core/dev/state.js";
import type { Store } from "../../engine/store.js";
import { useStoreState } from "./hooks.js";
import type { ViewState } from "./keys.js";
import { Text } from "./theme.js";

export function Footer({ store, view }: { store: Store<DevState, DevAction>; view: ViewState }) {
  const paused = useStoreState(store, (state) => state.paused);
  const quitting = useStoreState(store, (state) => state.quitting);
  const hints = quitting
    ? "stopping…"
    : view.typing !== undefined
      ? "type to search the logs (re: for a regex) · Enter apply · Esc cancel"
      : view.focus === "logs"
        ? "logs: ↑↓ PgUp PgDn scroll · G follow · space pause · Tab pod · / search · e error · v raw · Esc back · ? help"
        : `r rebuild · t test · p ${paused ? "resume" : "pause"} · l logs · / search · c clear · d why · ? help · q quit`;
  return (
    <Text dimColor wrap="truncate-end">
      {hints}
    </Text>
  );
}
