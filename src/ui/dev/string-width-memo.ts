/**
 * string-width, remembered. Ink measures every text on screen in every frame (layout, then
 * drawing, then each character), and string-width takes its slow path (grapheme segmentation,
 * ~160 µs for a 110-column row against ~1.5 µs) for any text with a character beyond ASCII: the
 * "✓", "·" and "░" of the header and pipeline rows. Under a log flood that was a third of a
 * frame (profiled: issue #15). The bundle routes Ink's and its helpers' imports of string-width
 * here (scripts/bundle.mjs), so a row already measured costs a lookup. Bounded: the cache starts
 * over after MAX_ENTRIES texts, as log lines are new texts without end.
 */
import stringWidth from "string-width";

const MAX_ENTRIES = 4096;
const widths = new Map<string, number>();

export default function rememberedStringWidth(text: string, options?: Parameters<typeof stringWidth>[1]): number {
  if (options !== undefined) return stringWidth(text, options);
  let width = widths.get(text);
  if (width === undefined) {
    if (widths.size >= MAX_ENTRIES) widths.clear();
    width = stringWidth(text);
    widths.set(text, width);
  }
  return width;
}
