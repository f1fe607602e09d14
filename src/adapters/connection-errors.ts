import { UserError } from "../errors.js";

/**
 * The one place that puts words on a failed connection (to the Docker engine or a kube API
 * server): Node reports these as bare codes (ECONNREFUSED, ENOENT, ...), which are the user's
 * environment, not a bug in mlkube. Callers say what they tried to reach; this says what happened.
 */

/** What happened, as a clause that follows "cannot be reached: ". */
const REASONS: Record<string, string> = {
  ECONNREFUSED: "nothing listens there (connection refused)",
  ENOENT: "no socket exists at that path",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTFOUND: "its host name does not resolve",
  EAI_AGAIN: "its host name does not resolve (DNS did not answer)",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "no route to the host",
  ENETUNREACH: "the network is unreachable",
  ECONNRESET: "it closed the connection",
  EPIPE: "it closed the connection",
  ENOTSOCK: "that path is not a socket",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is self-signed and not trusted",
  SELF_SIGNED_CERT_IN_CHAIN: "its TLS certificate is signed by an untrusted authority",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its TLS certificate cannot be verified",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its TLS certificate cannot be verified",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "its TLS certificate is for another host name",
};

interface ConnectionFailure {
  /** The code Node (or the HTTP client) reported: ECONNREFUSED, ENOENT, ... */
  code: string;
  /** e.g. "nothing listens there (connection refused)". */
  reason: string;
}

/**
 * The connection failure behind `error`, or undefined when it is something else (an HTTP error
 * status, a bug). Looks through `cause` too: fetch-based clients wrap the socket's error.
 */
export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (code === "ENOENT" && (current as { syscall?: unknown }).syscall === "open") return undefined; // a file, not a connection
    const reason = REASONS[code];
    if (reason) return { code, reason };
    if (code === "timeout") return { code, reason: (current as Error).message };
  }
  return undefined;
}

/**
 * The last resort, for the top level: a connection that failed where no adapter put words on it
 * (the engine or the cluster went away mid-command) is the user's environment, not a bug.
 */
export function lostConnection(error: unknown): UserError | undefined {
  if (error instanceof UserError) return undefined; // already worded where it happened
  const failure = connectionFailure(error);
  if (!failure) return undefined;
  // fetch wraps the socket's error: the address is on the innermost error that has one.
  let address: unknown;
  let port: unknown;
  for (let current = error, depth = 0; current && depth < 4 && address === undefined; current = (current as { cause?: unknown }).cause, depth++) {
    ({ address, port } = current as { address?: unknown; port?: unknown });
  }
  const url = /request to (\S+) failed/.exec((error as Error).message ?? "")?.[1];
  const target = typeof address === "string" ? (typeof port === "number" ? `${address}:${port}` : address) : (url ?? "a service mlkube uses");
  return new UserError("unreachable", `mlkube lost its connection to ${target}: ${failure.reason}.`, {
    hint: "Check that the Docker engine ('docker info') and the cluster ('kubectl get nodes') are running, then run the command again.",
    cause: error,
  });
}
