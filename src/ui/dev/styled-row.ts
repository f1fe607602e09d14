/**
 * Ink's rows of styled characters, without the per-character garbage. Ink draws every frame into a
 * grid of styled characters (ansi-tokenize's `tokenize` and `styledCharsFromTokens` for each row of
 * text) and turns each row back into a string (`styledCharsToString`), for the whole screen, every
 * frame. Under a log flood that was 35 of the 40 MB/s mlkube allocated and most of a frame's time
 * (profiled: issue #15); early in a session the garbage outlived its frame and grew the heap.
 * The package copies the style list for every character and diffs the styles of every pair of
 * neighbours (four Sets and a few arrays per character). Here:
 * - a row's characters are remembered across frames once it was drawn twice: most rows are the
 *   last frame's;
 * - characters of one style run share one style list (ansi-tokenize builds a new list at each
 *   change and never mutates one; Ink only reads them, and never changes a character);
 * - neighbours with the same codes are not diffed (ansi-tokenize's diff of equal styles is empty).
 * The bundle points Ink's output.js here (scripts/bundle-plugins.mjs).
 */
import { ansiCodesToString, diffAnsiCodes, reduceAnsiCodesIncremental, tokenize, type AnsiCode, type StyledChar, type Token } from "@alcalzone/ansi-tokenize";

/** Rows tracked per generation: a screen has at most a few hundred rows, a flood's rows are new each frame. */
const ROWS_PER_GENERATION = 256;
/** A row's characters once it was drawn twice; null when it was drawn once. */
let recentRows = new Map<string, StyledChar[] | null>();
let olderRows = new Map<string, StyledChar[] | null>();

/**
 * `styledCharsFromTokens(tokenize(line))`, remembered for rows drawn in more than one frame (the
 * header, the pipeline, a quiet log pane). A row drawn once (a log flood's) is only noted: keeping
 * its characters would outlive V8's young generation and grow the old one. Two generations of
 * rows are tracked, so memory stays bounded while the last frames' rows are found again. The
 * arrays are shared: callers must not change them.
 */
export function styledLine(line: string): StyledChar[] {
  const recent = recentRows.get(line);
  const known = recent !== undefined ? recent : olderRows.get(line);
  if (known) {
    if (recent === undefined) track(line, known);
    return known;
  }
  const chars = styledCharsFromTokens(tokenize(line));
  track(line, known === null ? chars : null);
  return chars;
}

function track(line: string, chars: StyledChar[] | null): void {
  if (recentRows.size >= ROWS_PER_GENERATION) {
    olderRows = recentRows;
    recentRows = new Map();
  }
  recentRows.set(line, chars);
}

/** Same codes in the same order (a code's end code follows from it): ansi-tokenize's diff between them is empty. */
function sameStyles(a: readonly AnsiCode[], b: readonly AnsiCode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) {
    if (a[index]!.code !== b[index]!.code) return false;
  }
  return true;
}

/** ansi-tokenize's `styledCharsFromTokens`, the characters of one style run sharing one style list. */
export function styledCharsFromTokens(tokens: readonly Token[]): StyledChar[] {
  let codes: AnsiCode[] = [];
  const chars: StyledChar[] = [];
  for (const token of tokens) {
    if (token.type === "ansi") codes = reduceAnsiCodesIncremental(codes, [token]);
    else if (token.type === "char") chars.push({ ...token, styles: codes });
  }
  return chars;
}

/** ansi-tokenize's `styledCharsToString`, with the same output, diffing styles only where they change. */
export function styledCharsToString(chars: readonly StyledChar[]): string {
  let row = "";
  let previous: AnsiCode[] = [];
  for (const char of chars) {
    if (!sameStyles(previous, char.styles)) row += ansiCodesToString(diffAnsiCodes(previous, char.styles));
    row += char.value;
    previous = char.styles;
  }
  // Close whatever style the last character left open.
  if (previous.length > 0) row += ansiCodesToString(diffAnsiCodes(previous, []));
  return row;
}
