/**
 * What live update runs inside a pod's container, through `pods/exec` (`kubectl cp` streams a tar
 * into `tar -x` the same way): one round trip that checks the tools, backs up what it replaces,
 * extracts the new files, deletes the removed ones and prints their checksums. `sh -c SCRIPT sh
 * N FILE...` passes the paths as arguments, so no path is ever parsed by the shell.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { pack } from "tar-stream";
import { LIVE_STATE_DIR } from "../docker/dev-layer.js";

/** Exit codes of the copy script, each a reason the change goes the rebuild way instead. */
export const COPY_EXIT = { noTar: 90, noChecksum: 91, noScratch: 92, backup: 93, extract: 94, remove: 95 } as const;

/**
 * $1 is the number of copied files; then the copied files' container paths, then the deleted
 * ones'. The archive comes on stdin (its backup sits in the supervisor's directory).
 */
export const COPY_SCRIPT = `copies=$1; shift
command -v tar >/dev/null 2>&1 || exit ${COPY_EXIT.noTar}
command -v sha256sum >/dev/null 2>&1 || exit ${COPY_EXIT.noChecksum}
mkdir -p ${LIVE_STATE_DIR} || exit ${COPY_EXIT.noScratch}
: > ${LIVE_STATE_DIR}/backup.list && : > ${LIVE_STATE_DIR}/new.list || exit ${COPY_EXIT.noScratch}
for f in "$@"; do
  if [ -e "$f" ]; then printf '%s\\n' "\${f#/}" >> ${LIVE_STATE_DIR}/backup.list; else printf '%s\\n' "$f" >> ${LIVE_STATE_DIR}/new.list; fi
done
tar -cf ${LIVE_STATE_DIR}/backup.tar -C / -T ${LIVE_STATE_DIR}/backup.list || exit ${COPY_EXIT.backup}
tar -xf - -C / || exit ${COPY_EXIT.extract}
i=0
for f in "$@"; do
  i=$((i + 1))
  if [ "$i" -gt "$copies" ]; then rm -rf -- "$f" || exit ${COPY_EXIT.remove}; else sha256sum -- "$f"; fi
done`;

/** Puts the backed-up files back and removes the ones the failed sync added. */
export const RESTORE_SCRIPT = `tar -xf ${LIVE_STATE_DIR}/backup.tar -C / && while IFS= read -r f; do rm -f -- "$f"; done < ${LIVE_STATE_DIR}/new.list`;

export interface FileCopy {
  /** Absolute path on this machine. */
  local: string;
  /** Absolute path in the container. */
  remote: string;
}

/** A tar archive of the copies, each named by its container path (extracted with -C /). */
export async function packCopies(copies: readonly FileCopy[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    archive.on("end", resolve);
    archive.on("error", reject);
  });
  for (const copy of copies) {
    const [content, info] = await Promise.all([readFile(copy.local), stat(copy.local)]);
    await new Promise<void>((resolve, reject) => {
      archive.entry({ name: copy.remote.replace(/^\/+/, ""), size: content.length, mode: info.mode & 0o7777, mtime: info.mtime }, content, (error) => (error ? reject(error) : resolve()));
    });
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** sha256 of each local file, keyed by its container path, to compare with what sha256sum printed there. */
export async function localChecksums(copies: readonly FileCopy[]): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const copy of copies) sums.set(copy.remote, createHash("sha256").update(await readFile(copy.local)).digest("hex"));
  return sums;
}

/** The copies whose checksum in the container (sha256sum's "HASH  PATH" lines) is not the local one. */
export function checksumMismatches(expected: ReadonlyMap<string, string>, sha256sumOutput: string): string[] {
  const found = new Map<string, string>();
  for (const line of sha256sumOutput.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match?.[1] && match[2]) found.set(match[2], match[1]);
  }
  return [...expected].filter(([path, sum]) => found.get(path) !== sum).map(([path]) => path);
}
