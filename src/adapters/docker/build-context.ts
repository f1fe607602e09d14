import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tarFs from "tar-fs";
import { loadContextFilter } from "./dockerignore.js";

/** One file or symlink that goes into the image's build context. */
export interface ContextEntry {
  /** Relative to the context folder, forward slashes. */
  path: string;
  executable: boolean;
  size: number;
  /** sha256 of the content, or of the link target for a symlink. */
  sha256: string;
}

/** Remembers file hashes by (size, mtime, ctime, inode) so a 1 GB model is hashed once per change,
 * not on every iteration of the dev loop. */
export class FileHashCache {
  private readonly byPath = new Map<string, { key: string; sha256: string }>();

  async hash(absolutePath: string, stat: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): Promise<string> {
    const key = `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`;
    const known = this.byPath.get(absolutePath);
    if (known?.key === key) return known.sha256;
    const hash = createHash("sha256");
    await pipeline(createReadStream(absolutePath), hash);
    const sha256 = hash.digest("hex");
    this.byPath.set(absolutePath, { key, sha256 });
    return sha256;
  }
}

/** Lists what Docker would send: every file not excluded by the ignore file (see loadContextFilter), sorted by path. */
export async function listContext(contextDir: string, hashes: FileHashCache, dockerfile?: string): Promise<ContextEntry[]> {
  const filter = await loadContextFilter(contextDir, dockerfile);
  const entries: ContextEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const absolute = join(dir, name);
      const path = relative(contextDir, absolute).split(sep).join("/");
      const stat = await lstat(absolute).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return null; // deleted while we walked: not part of this build
        throw error;
      });
      if (!stat) continue;
      if (stat.isDirectory()) {
        if (!filter.canPrune(path)) await walk(absolute);
        continue;
      }
      if (filter.excludes(path)) continue;
      if (stat.isSymbolicLink()) {
        const target = await readlink(absolute);
        entries.push({ path, executable: false, size: 0, sha256: createHash("sha256").update(`link:${target}`).digest("hex") });
      } else if (stat.isFile()) {
        entries.push({ path, executable: (stat.mode & 0o111) !== 0, size: stat.size, sha256: await hashes.hash(absolute, stat) });
      }
    }
  };
  await walk(contextDir);
  return entries;
}

interface DigestInputs {
  entries: readonly ContextEntry[];
  dockerfileText: string;
  buildArgs: Readonly<Record<string, string>>;
  target: string | undefined;
}

/** A stable digest of everything that decides the image: context files, Dockerfile, args, target. */
export function contextDigest(inputs: DigestInputs): string {
  const hash = createHash("sha256");
  for (const entry of inputs.entries) hash.update(`${entry.path}\0${entry.executable ? "x" : "-"}\0${entry.sha256}\n`);
  hash.update(`dockerfile\0${inputs.dockerfileText}\n`);
  for (const key of Object.keys(inputs.buildArgs).sort()) hash.update(`arg\0${key}=${inputs.buildArgs[key]}\n`);
  hash.update(`target\0${inputs.target ?? ""}\n`);
  return hash.digest("hex");
}

interface PackedContext {
  stream: Readable;
  /** Resolves once the whole tar was produced: the entries as actually read while packing. */
  packed: Promise<{ entries: ContextEntry[]; bytes: number }>;
}

/** Name under which a Dockerfile that lives outside the context travels inside the tar. */
export const EXTERNAL_DOCKERFILE_NAME = ".mlkube.Dockerfile";

/**
 * Streams the context as a tar without holding files in memory. Hashes each file as it is read, so
 * the tag can be derived from what was really sent even when a file changes between listing and
 * packing. Ownership and times are normalised so the same content always gives the same layers.
 */
export function packContext(
  contextDir: string,
  files: readonly ContextEntry[],
  externalDockerfile: string | undefined,
  onBytes: (total: number) => void,
): PackedContext {
  const sent: ContextEntry[] = [];
  let bytes = 0;
  let resolvePacked!: (value: { entries: ContextEntry[]; bytes: number }) => void;
  let rejectPacked!: (error: unknown) => void;
  const packed = new Promise<{ entries: ContextEntry[]; bytes: number }>((resolve, reject) => {
    resolvePacked = resolve;
    rejectPacked = reject;
  });
  packed.catch(() => undefined); // the build reports pack errors through the stream; avoid an unhandled rejection

  const pack = tarFs.pack(contextDir, {
    entries: files.map((file) => file.path),
    finalize: externalDockerfile === undefined,
    finish: (tar) => {
      if (externalDockerfile !== undefined) {
        tar.entry({ name: EXTERNAL_DOCKERFILE_NAME, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, externalDockerfile);
        tar.finalize();
      }
    },
    map: (header) => ({ ...header, mtime: new Date(0), uid: 0, gid: 0, uname: "root", gname: "root" }),
    mapStream: (fileStream, header) => {
      const hash = createHash("sha256");
      const name = header.name;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
        flush(done) {
          sent.push({ path: name, executable: ((header.mode ?? 0) & 0o111) !== 0, size: header.size ?? 0, sha256: hash.digest("hex") });
          done();
        },
      });
      // tar-fs only reads from what mapStream returns; its types ask for an fs.ReadStream.
      return fileStream.pipe(hashing) as unknown as typeof fileStream;
    },
  });

  const counted = new PassThrough();
  pack.on("data", (chunk: unknown) => {
    bytes += (chunk as Uint8Array).length;
    onBytes(bytes);
  });
  pack.on("end", () => {
    const bySentPath = new Map(sent.map((entry) => [entry.path, entry]));
    // Symlinks are not streamed through mapStream: keep their listed digest.
    resolvePacked({ entries: files.map((file) => bySentPath.get(file.path) ?? file), bytes });
  });
  pack.on("error", (error: Error) => {
    rejectPacked(error);
    counted.destroy(error);
  });
  pack.pipe(counted);
  return { stream: counted, packed };
}
