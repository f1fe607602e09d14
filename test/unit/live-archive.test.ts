/**
 * Live update's archive is streamed from the files: a model of hundreds of megabytes is never held
 * in memory, and the size the copy announces (readingExactly) is exactly what it sends.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveCopies } from "../../src/adapters/live/copy-script.js";

const BIG = 128 * 1024 * 1024;

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("live update's copy archive", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-live-archive-"));
    await writeFile(join(dir, "app.py"), "print('v2')\n");
    await writeFile(join(dir, "model.pkl"), "");
    await truncate(join(dir, "model.pkl"), BIG); // sparse: fast to make, read like any file
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("announces its exact size and each file's checksum, and streams without holding the files", async () => {
    const copies = [
      { local: join(dir, "app.py"), remote: "/app/app.py" },
      { local: join(dir, "model.pkl"), remote: "/srv/models/a long directory name/model.pkl" },
    ];
    const archive = await archiveCopies(copies);
    expect(archive.checksums).toEqual(
      new Map([
        ["/app/app.py", await sha256(copies[0]!.local)],
        ["/srv/models/a long directory name/model.pkl", await sha256(copies[1]!.local)],
      ]),
    );

    let sent = 0;
    let peakBuffers = 0;
    const entries: { name: string; size: number }[] = [];
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
      let size = 0;
      stream.on("data", (chunk: unknown) => (size += (chunk as Buffer).length));
      stream.on("end", () => {
        entries.push({ name: header.name, size });
        next();
      });
    });
    const done = new Promise<void>((resolve, reject) => {
      reader.on("finish", resolve);
      reader.on("error", reject);
    });
    for await (const chunk of archive.open()) {
      sent += (chunk as Buffer).length;
      peakBuffers = Math.max(peakBuffers, process.memoryUsage().arrayBuffers);
      if (!reader.write(chunk as Buffer)) await new Promise<void>((resolve) => reader.once("drain", () => resolve()));
    }
    reader.end(undefined);
    await done;

    expect(sent).toBe(archive.size);
    expect(entries).toEqual([
      { name: "app/app.py", size: 12 },
      { name: "srv/models/a long directory name/model.pkl", size: BIG },
    ]);
    // The whole archive in memory would be over 128 MB.
    expect(peakBuffers).toBeLessThan(64 * 1024 * 1024);
  });
});
