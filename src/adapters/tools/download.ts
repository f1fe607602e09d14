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

export interface DownloadOptions {
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
  const limit = deadline(options.timeoutMs ?? 300_000, options.signal);
  try {
    const response = await fetch(download.url, { signal: limit.signal, redirect: "follow" });
    if (!response.ok || !response.body) {
      throw new UserError("download", `Downloading ${download.url} failed: HTTP ${response.status}.`, { hint: "Check the network (and HTTPS_PROXY), then run 'mlkube doctor --fix' again." });
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
      throw new UserError("download", `${download.url} does not match its pinned checksum (expected sha256 ${download.sha256}, got ${actual}); it was deleted and nothing was installed.`, {
        hint: "Try again later. If it keeps happening, something between you and the server changes the file: do not install it by hand.",
      });
    }
    await chmod(partial, 0o755);
    await rename(partial, destination);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const reason = limit.expired ? `no complete answer within ${Math.round((options.timeoutMs ?? 300_000) / 1000)} s` : ((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
    throw new UserError("download", `Downloading ${download.url} failed: ${reason}.`, {
      hint: "Check the network (and HTTPS_PROXY), then run 'mlkube doctor --fix' again.",
      cause: error,
    });
  } finally {
    limit.clear();
    await rm(partial, { force: true });
  }
}
