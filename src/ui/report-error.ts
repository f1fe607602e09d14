import { lostConnection } from "../adapters/connection-errors.js";
import { isUserError } from "../errors.js";

/** Prints an error for a person and returns the exit code: 1 for user errors, 70 for bugs. */
export function reportError(thrown: unknown, out: NodeJS.WritableStream): number {
  const error = lostConnection(thrown) ?? thrown;
  if (isUserError(error)) {
    const lines = [`error: ${error.message}`, ...error.details.map((line) => `  ${line}`)];
    if (error.hint) lines.push(`fix: ${error.hint}`);
    out.write(lines.join("\n") + "\n");
    return 1;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  out.write(`mlkube hit an internal error. This is a bug in mlkube, not in your project; please report it with:\n${stack}\n`);
  return 70;
}
