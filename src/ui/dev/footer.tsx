/** One line of reminders; while a search is typed, the line is the search prompt's help. */
import { memo } from "react";
import type { ViewState } from "./keys.js";
import { Text } from "./theme.js";

/** What the footer shows: the app reads it from the store and the view state. */
export interface FooterSlice {
  paused: boolean;
  quitting: boolean;
  /** A search is being typed after `/`. */
  typing: boolean;
  focus: ViewState["focus"];
}

export const Footer = memo(function Footer({ paused, quitting, typing, focus }: FooterSlice) {
  const hints = quitting
    ? "stopping…"
    : typing
      ? "type to search the logs (re: for a regex) · Enter apply · Esc cancel"
      : focus === "logs"
        ? "logs: ↑↓ PgUp PgDn scroll · G follow · space pause · Tab pod · / search · e error · v raw · Esc back · ? help"
        : `r rebuild · t test · p ${paused ? "resume" : "pause"} · l logs · / search · c clear · d why · ? help · q quit`;
  return (
    <Text dimColor wrap="truncate-end">
      {hints}
    </Text>
  );
});
