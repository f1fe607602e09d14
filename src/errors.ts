/**
 * Errors a user can act on. Each carries a kind (for scripts and the UI), the message (what went
 * wrong, where), and a separate hint (the exact command or setting that fixes it), so the UI can
 * show the fix on its own line. Anything that is not a UserError is a bug in mlkube and is
 * reported as one.
 */
type ErrorKind =
  | "config"
  | "dockerfile"
  | "build"
  | "docker-unavailable"
  | "cancelled"
  | "usage"
  | "missing-tool"
  | "command-failed"
  | "cluster"
  | "delivery"
  | "rollout"
  | "manifest"
  | "unreachable"
  | "download"
  | "sync";

export class UserError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  /** Extra lines shown under the message (e.g. one line per config error). */
  readonly details: readonly string[];

  constructor(kind: ErrorKind, message: string, options: { hint?: string; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "UserError";
    this.kind = kind;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** True for the errors an AbortSignal produces, whichever library raised them. */
export function isAbortError(error: unknown): boolean {
  if (error instanceof UserError) return error.kind === "cancelled";
  const name = (error as { name?: unknown } | null)?.name;
  return name === "AbortError";
}

/** Live update cannot take this change (no tar in the image, a failed copy): the dev loop rebuilds instead and says why. */
export class LiveUnavailable extends Error {
  constructor(
    readonly reason: string,
    /** Set when no later change can be synced either (the image has no tar): live update is off for the session. */
    readonly forSession = false,
  ) {
    super(reason);
    this.name = "LiveUnavailable";
  }
}
