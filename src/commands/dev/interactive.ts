interface UiFlags {
  /** False with --no-tui. */
  tui?: boolean | undefined;
  json?: boolean | undefined;
  once?: boolean | undefined;
}

/**
 * The interactive UI needs a terminal both ways that can move its cursor: not with --no-tui,
 * --json or --once, not in CI, and not on a dumb terminal (TERM=dumb: Emacs' shell, some
 * IDE consoles), where Ink's cursor movements would print as text. There the plain printer runs.
 */
export function wantsInteractiveUi(options: UiFlags, terminal: { stdout: boolean; stdin: boolean }, env: NodeJS.ProcessEnv): boolean {
  return options.tui !== false && !options.json && !options.once && terminal.stdout && terminal.stdin && !env["CI"] && env["TERM"] !== "dumb";
}
