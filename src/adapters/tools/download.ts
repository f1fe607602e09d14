import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { UserError } from "../../errors.js";
import { deadline } from "../probe/deadline.js";

export interface PinnedDownload {
  url: string;
  /** Lowercase hex SHA-256 of the file, pinned in mlkube's source. */
  sha256: string;
}

interface DownloadOptions {
  signal?: AbortSignal | undefined;
  /** A tool binary is tens of MB; a server sending more is not sending the tool. */
  maxBytes?: number | undefined;
  timeoutMs?: number | undefined;
}

/**
 * Downloads a file and installs it as an executable at `destination` only if its SHA-256 matches
 * the pin. The bytes go to a temporary file beside the destination and are hashed on the way; a
 * mismatch deletes them, so an unverified binary is never where anything would run it. The final
 * rename is atomic: a concurrent reader sees the old file or the verified new one.
 */
export async function installVerified(download: PinnedDownload, destination: string, options: DownloadOptions = {}): Promise<void> {
  const maxBytes = options.maxBytes ?? 200_000_000;
  await mkdir(dirname(destination), { recursive: true });
  const partial = `${destination}.partial-${process.pid}-${Date.now()}`;
  // Node's global fetch ignores the proxy variables, so behind a corporate proxy the download
  // would just time out. undici (the library Node's fetch is built on) reads HTTP_PROXY,
  // HTTPS_PROXY and NO_PROXY (either case) per URL, redirects included; without tunnelling, a
  // plain-http URL goes to the proxy as an absolute-URI GET, as curl sends it. Its own fetch, not
  // Node's: a dispatcher from another undici release than the one in Node is not guaranteed to fit.
  // Imported here, not at the top: only a download needs it (the dev command's memory, issue #15).
  // undici is CommonJS: its exports are the default export, in Node and in the esbuild bundle alike
  // (a split-off CommonJS chunk has no named exports there), and undici's types omit some of them.
  const { fetch, EnvHttpProxyAgent } = (await import("undici")).default as unknown as typeof import("undici");
  const dispatcher = new EnvHttpProxyAgent({ proxyTunnel: false });
  const limit = deadline(options.timeoutMs ?? 300_000, options.signal);
  try {
    const response = await fetch(download.url, { signal: limit.signal, redirect: "follow", dispatcher });
    if (!response.ok || !response.body) {
      throw new UserError("download", `Downloading ${download.url} failed: HTTP ${response.status}.`, { hint: retryHint() });
    }
    const hash = createHash("sha256");
    let bytes = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) return done(new UserError("download", `${download.url} sent more than ${maxBytes} bytes; stopped.`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), measure, createWriteStream(partial, { mode: 0o600 }));
    const actual = hash.digest("hex");
    if (actual !== download.sha256.toLowerCase()) {
      throw new UserError(
        "download",
        `${download.url} does not match its pinned checksum (expected sha256 ${download.sha256}, got ${actual}); it was deleted and nothing was installed.`,
        {
          hint: "Try again later. If it keeps happening, something between you and the server changes the file: do not install it by hand.",
        },
      );
    }
    await chmod(partial, 0o755);
    await rename(partial, destination);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const reason = limit.expired ? `no complete answer within ${Math.round((options.timeoutMs ?? 300_000) / 1000)} s` : innermostMessage(error);
    throw new UserError("download", `Downloading ${download.url} failed: ${reason}.`, { hint: retryHint(), cause: error });
  } finally {
    limit.clear();
    await dispatcher.close();
    await rm(partial, { force: true });
  }
}

/**
 * fetch wraps the reason in layers ("fetch failed", then "Request was cancelled."); the innermost
 * says what happened: "connect ECONNREFUSED ...", "Proxy response (403) !== 200 when HTTP Tunneling".
 */
function innermostMessage(error: unknown): string {
  let inner = error as { message?: unknown; cause?: unknown };
  while (inner.cause instanceof Error) inner = inner.cause;
  return String(inner.message).replace(/\.$/, "");
}

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] as const;

/** Names the proxy settings in effect (a proxy's password hidden): the first thing to check when a download fails. */
function retryHint(env: NodeJS.ProcessEnv = process.env): string {
  const set = PROXY_VARIABLES.filter((name) => env[name]).map((name) => `${name}=${withoutPassword(env[name] ?? "")}`);
  const proxies = set.length > 0 ? `in effect: ${set.join(" ")}` : "none is set: HTTPS_PROXY and NO_PROXY, if this network needs one";
  return `Check the network and the proxy (${proxies}), then try again, or run 'mlkube doctor --fix'.`;
}

function withoutPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = "***";
    return url.href;
  } catch {
    return value; // NO_PROXY's host list, or a proxy written without a scheme
  }
}
