import { UserError } from "../errors.js";

/** Build argument names as Dockerfiles can reference them ($NAME). */
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses repeated `--build-arg` values the way docker build does: `KEY=VALUE` sets KEY (the value
 * may be empty or contain "="); `KEY` alone passes KEY from the environment, and is left out when
 * the environment does not have it (the Dockerfile's default then applies). Later values win.
 */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const args = new Map<string, string>();
  for (const item of list) {
    const equals = item.indexOf("=");
    const key = equals < 0 ? item : item.slice(0, equals);
    if (!ARG_NAME.test(key)) {
      throw new UserError("usage", `--build-arg ${JSON.stringify(item)} is not KEY=VALUE.`, {
        hint: "Write --build-arg KEY=VALUE, or --build-arg KEY to take KEY's value from the environment.",
      });
    }
    const value = equals < 0 ? env[key] : item.slice(equals + 1);
    if (value !== undefined) args.set(key, value);
  }
  // fromEntries defines own properties, so even a key like __proto__ stays plain data.
  return Object.fromEntries(args);
}
