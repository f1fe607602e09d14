/**
 * What a key press means. Kept out of the components as one function of (view state, key), so
 * the whole keymap reads in one place and focus rules (typing a search swallows letters) hold
 * everywhere.
 *
 * `c` clears the view, not the engine: the log pane hides the lines received so far (the log
 * store keeps them, and the plain printer is unaffected) and the error panel hides the problem it
 * shows until a new problem arrives. The problem stays in the engine state (the next successful
 * iteration clears it there), so nothing else changes meaning.
 */
import type { Key } from "ink";
import type { DevAction, ProblemReport } from "../../core/dev/state.js";
import { lastErrorSeq, parseSearch } from "../../engine/log-filter.js";
import type { LogFilter, LogStore } from "../../engine/log-store.js";
import { foldedSeek } from "./log-fold.js";

export interface LogViewState {
  /** The seq of the bottom line while scrolled back; undefined = follow the newest. */
  anchor: number | undefined;
  pod: string | undefined;
  /** With `pod`: one of its containers only. */
  container: string | undefined;
  /** As typed after `/`: text, or `re:` and a regular expression (engine/log-filter.ts). */
  search: string;
  /** Lines before this seq were cleared from the view. */
  fromSeq: number;
  /** The error line `e` jumped to, marked on screen; the next `e` looks above it. */
  mark: number | undefined;
  /** Show JSON lines as written instead of "LEVEL message". */
  raw: boolean;
  /** Show every probe line instead of folding runs of them (log-fold.ts). */
  unfolded: boolean;
  /** A one-key answer shown in the pane's title until the next key ("no error lines"). */
  note?: string | undefined;
}

export interface ViewState {
  focus: "main" | "logs";
  help: boolean;
  /** Show why the delivery path was chosen. */
  why: boolean;
  /** The search being typed after `/`; undefined when not typing. */
  typing: string | undefined;
  logView: LogViewState;
  /** The problem the user dismissed with `c`. */
  dismissed: ProblemReport | undefined;
}

export const INITIAL_VIEW: ViewState = {
  focus: "main",
  help: false,
  why: false,
  typing: undefined,
  logView: { anchor: undefined, pod: undefined, container: undefined, search: "", fromSeq: 0, mark: undefined, raw: false, unfolded: false },
  dismissed: undefined,
};

export interface KeyContext {
  logs: LogStore;
  /** Log lines visible at once: one page. */
  pageSize: number;
  problem: ProblemReport | undefined;
  now: () => number;
}

/** `q` asks to quit; Ctrl-C interrupts (the session then exits 130, as shells expect). */
export type QuitRequest = "quit" | "interrupt";

interface KeyOutcome {
  view: ViewState;
  action?: DevAction | undefined;
  quit?: QuitRequest | undefined;
}

/** The help overlay's lines, next to the code that gives them meaning. */
export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["r", "rebuild now"],
  ["t", "run the smoke tests"],
  ["p", "pause / resume watching"],
  ["y", "re-create the cluster (when it was deleted)"],
  ["l", "focus the logs (Esc leaves)"],
  ["/", "search the logs; /re:… is a regular expression (Enter applies, Esc cancels)"],
  ["e", "jump to the last error or traceback (again: the one before)"],
  ["c", "clear the log view and dismiss the error panel"],
  ["d", "why this delivery path"],
  ["?", "this help (any key closes)"],
  ["q, Ctrl-C", "quit (the deployment keeps running)"],
  ["↑ ↓ PgUp PgDn", "scroll the logs (focused)"],
  ["Home End", "oldest / follow newest (focused)"],
  ["space", "pause / follow the logs (focused)"],
  ["Tab", "show one pod's (one container's) logs / all (focused)"],
  ["v", "JSON lines as written / as level and message (focused)"],
  ["z", "unfold / fold repeated probe and health-check lines (focused)"],
];

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/**
 * The key presses in one read. Ink passes a read of several plain characters on as one input
 * (a paste, or keys queued while a build or a log flood kept the event loop busy), so Ctrl-C
 * pressed twice arrives as "\x03\x03" and matched no key at all. Each character is its own
 * press here; escape sequences (arrows, Home) already arrive one per read from Ink's parser.
 */
export function keyPresses(input: string, key: Key): [string, Key][] {
  const characters = [...input];
  if (characters.length <= 1) return [[input, key]];
  return characters.map(pressOf);
}

/** One character as Ink's parser reads it alone. */
function pressOf(character: string): [string, Key] {
  const code = character.codePointAt(0) ?? 0;
  if (character === "\r" || character === "\n") return ["", { ...NO_KEY, return: true }];
  if (character === "\t") return ["", { ...NO_KEY, tab: true }];
  if (character === "\x7f") return ["", { ...NO_KEY, delete: true }];
  if (character === "\b") return ["", { ...NO_KEY, backspace: true }];
  // Ctrl-A to Ctrl-Z are the bytes 1 to 26.
  if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
  return [character, { ...NO_KEY, shift: /[A-Z]/.test(character) }];
}

export function interpretKey(view: ViewState, input: string, key: Key, context: KeyContext): KeyOutcome {
  if (key.ctrl && input === "c") return { view, quit: "interrupt" };
  if (view.logView.note !== undefined) view = { ...view, logView: { ...view.logView, note: undefined } };
  if (view.typing !== undefined) return { view: typeSearch(view, input, key) };
  if (view.help) return input === "q" ? { view, quit: "quit" } : { view: { ...view, help: false } };

  switch (input) {
    case "q":
      return { view, quit: "quit" };
    case "r":
      return { view, action: { type: "key/rebuild", at: context.now() } };
    case "t":
      return { view, action: { type: "key/test", at: context.now() } };
    case "p":
      return { view, action: { type: "key/pause" } };
    case "y":
      return { view, action: { type: "key/recreate" } };
    case "c":
      return {
        view: { ...view, dismissed: context.problem, logView: { ...view.logView, anchor: undefined, mark: undefined, fromSeq: context.logs.checkpoint() } },
      };
    case "?":
      return { view: { ...view, help: true } };
    case "d":
      return { view: { ...view, why: !view.why } };
    case "l":
      return { view: { ...view, focus: view.focus === "logs" ? "main" : "logs" } };
    case "/":
      return { view: { ...view, focus: "logs", typing: "" } };
    case "e":
      return { view: { ...view, focus: "logs", logView: jumpToError(view.logView, context) } };
  }
  if (view.focus !== "logs") return { view };
  if (key.escape) return { view: escapeFromLogs(view) };
  return { view: { ...view, logView: navigateLogs(view.logView, input, key, context) } };
}

function typeSearch(view: ViewState, input: string, key: Key): ViewState {
  const typing = view.typing ?? "";
  if (key.escape) return { ...view, typing: undefined };
  if (key.return) return { ...view, typing: undefined, logView: { ...view.logView, search: typing, anchor: undefined, mark: undefined } };
  if (key.backspace || key.delete) return { ...view, typing: typing.slice(0, -1) };
  if (key.ctrl || key.meta || input === "") return view;
  return { ...view, typing: typing + input };
}

function navigateLogs(logView: LogViewState, input: string, key: Key, context: KeyContext): LogViewState {
  const page = Math.max(1, context.pageSize);
  if (key.upArrow || input === "k") return scroll(logView, -1, context);
  if (key.downArrow || input === "j") return scroll(logView, 1, context);
  if (key.pageUp) return scroll(logView, -page, context);
  if (key.pageDown) return scroll(logView, page, context);
  if (key.home || input === "g") return { ...logView, anchor: oldestPageEnd(logView, context) };
  if (key.end || input === "G") return { ...logView, anchor: undefined, mark: undefined };
  if (input === " ") return logView.anchor === undefined ? { ...logView, anchor: newestMatch(logView, context) } : { ...logView, anchor: undefined };
  if (key.tab) return { ...logView, ...nextSource(logView, context.logs.sources()), anchor: undefined, mark: undefined };
  if (input === "v") return { ...logView, raw: !logView.raw };
  if (input === "z") return { ...logView, unfolded: !logView.unfolded };
  return logView;
}

/** Esc first drops an active search, then leaves the pane. */
function escapeFromLogs(view: ViewState): ViewState {
  if (view.logView.search !== "") return { ...view, logView: { ...view.logView, search: "", anchor: undefined } };
  return { ...view, focus: "main" };
}

/** The store filter the view shows; an invalid regular expression filters nothing (the pane says why). */
export function filterOf(logView: LogViewState): LogFilter {
  const parsed = parseSearch(logView.search);
  return { pod: logView.pod, container: logView.container, search: parsed.search, pattern: parsed.pattern, fromSeq: logView.fromSeq };
}

/**
 * The newest error line above the marked one (or the newest at all), shown at the top of the pane
 * with what followed it below: a traceback reads downwards. The view stays there while lines arrive.
 */
function jumpToError(logView: LogViewState, context: KeyContext): LogViewState {
  const filter = filterOf(logView);
  const latest = context.logs.latestSeq;
  const found = (logView.mark !== undefined ? lastErrorSeq(context.logs, filter, logView.mark - 1) : undefined) ?? lastErrorSeq(context.logs, filter, latest);
  if (found === undefined) return { ...logView, note: "no error or traceback in the lines kept" };
  const bottom = context.logs.seek(filter, found, Math.max(0, context.pageSize - 1)) ?? found;
  return { ...logView, mark: found, anchor: bottom };
}

/** Moves by rows: a folded run of probe lines is one row. */
function seekRows(logView: LogViewState, context: KeyContext, fromSeq: number, delta: number): number | undefined {
  const filter = filterOf(logView);
  return logView.unfolded ? context.logs.seek(filter, fromSeq, delta) : foldedSeek(context.logs, filter, fromSeq, delta);
}

function scroll(logView: LogViewState, delta: number, context: KeyContext): LogViewState {
  const newest = newestMatch(logView, context);
  // A pinned view's lines may have left the history since: it shows the oldest page (log-pane.tsx).
  const from = logView.anchor === undefined ? context.logs.latestSeq : Math.max(logView.anchor, oldestPageEnd(logView, context) ?? logView.anchor);
  const target = seekRows(logView, context, from, delta);
  if (target === undefined || newest === undefined) return logView;
  // Reaching the newest line again means following again, as `less +F` users expect.
  if (delta > 0 && target >= newest) return { ...logView, anchor: undefined };
  return { ...logView, anchor: Math.max(target, oldestPageEnd(logView, context) ?? target) };
}

function newestMatch(logView: LogViewState, context: KeyContext): number | undefined {
  return context.logs.seek(filterOf(logView), context.logs.latestSeq, 0);
}

/** The bottom line of the oldest full page: scrolling further up would only leave blank rows. */
function oldestPageEnd(logView: LogViewState, context: KeyContext): number | undefined {
  return seekRows(logView, context, 0, Math.max(1, context.pageSize));
}

type Source = Pick<LogViewState, "pod" | "container">;

/** All pods, then each pod, and each of its containers when it has more than one, then all again. */
function nextSource(current: Source, sources: readonly { pod: string; containers: readonly string[] }[]): Source {
  const cycle: Source[] = [{ pod: undefined, container: undefined }];
  for (const { pod, containers } of sources) {
    cycle.push({ pod, container: undefined });
    // Notices ("") are about the whole pod: they show with the pod, not as a container.
    const named = containers.filter((container) => container !== "");
    if (named.length > 1) for (const container of named) cycle.push({ pod, container });
  }
  const index = cycle.findIndex((source) => source.pod === current.pod && source.container === current.container);
  return cycle[(index + 1) % cycle.length] ?? cycle[0]!;
}
