/** Things that move on their own: each owns its timer, so only it re-renders as time passes. */
import { useContext } from "react";
import { formatMs } from "./format.js";
import { ClockContext, TICK_MS, useTicker } from "./hooks.js";
import { Text } from "./theme.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function Spinner() {
  const tick = useTicker(TICK_MS, true);
  return <Text color="cyan">{FRAMES[tick % FRAMES.length]}</Text>;
}

/** Time since `since`, ticking. */
export function Elapsed({ since }: { since: number }) {
  useTicker(TICK_MS, true);
  const now = useContext(ClockContext);
  return <Text>{formatMs(now() - since)}</Text>;
}
