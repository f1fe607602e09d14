/**
 * Docker multiplexes a non-TTY container's stdout and stderr into 8-byte-header frames; kubectl logs
 * shows both interleaved as raw bytes. This turns Docker's log answer (a stream when following, a
 * Buffer otherwise) into one plain byte stream.
 */
import { PassThrough, type Readable } from "node:stream";

export function demuxedLogs(source: Readable | Buffer, pick: "both" | "stderr" = "both"): Readable {
  const out = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  const take = (chunk: Buffer): void => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const streamType = pending[0];
      if (pick === "both" || streamType === 2) out.write(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  };
  if (Buffer.isBuffer(source)) {
    take(source);
    out.end();
    return out;
  }
  source.on("data", (chunk: Buffer) => take(chunk));
  source.on("end", () => out.end());
  source.on("close", () => out.end());
  source.on("error", (error) => out.destroy(error));
  // A reader that stops early (kubectl logs -f interrupted) must release Docker's follow stream.
  out.on("close", () => source.destroy());
  return out;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
