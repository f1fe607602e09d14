/**
 * What live update runs inside a pod's container, through `pods/exec` (`kubectl cp` streams a tar
 * into `tar -x` the same way). Each pods/exec costs a round trip through the API server and the
 * kubelet (about 100 ms on the simulator), so a change takes one: copy, check and restart.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import { LIVE_STATE_DIR, LIVE_STATE_FILE, RESTART_COMMAND, type SupervisorState } from "../docker/dev-layer.js";

/** Exit codes of the in-pod scripts, each a reason the change cannot be taken as it is. */
export const COPY_EXIT = {
  noTar: 90,
  noChecksum: 91,
  noScratch: 92,
  backup: 93,
  extract: 94,
  remove: 95,
  /** A copied file's checksum in the container is not the local one: the server was not restarted. */
  mismatch: 96,
  /** No supervisor state: the pod runs an image without mlkube's dev layer. Checked before anything is written. */
  noSupervisor: 97,
  noSignal: 98,
  /** The supervisor did not count a new start within 5 s of the signal. */
  noRestart: 99,
  /** restart: none, and no new server process appeared within 10 s of the copy. */
  noReload: 100,
} as const;

/** Printed before a copied file whose checksum differs, and before the supervisor's state after a restart. */
const DIFFERS = "differs: ";
const STATE_MARKER = "--- mlkube supervisor state";
/** Printed with the PID of the process a self-reloading server started after the copy. */
const RELOAD_MARKER = "--- mlkube reloaded pid ";

/**
 * Sets $g to the supervisor's count of starts ($state is its state file, one line of JSON whose
 * first "generation" key is the top-level one: the supervisor writes it before lastExit and
 * lastRestart); a restart is done when it changes. Shell builtins only: this runs every 20 ms
 * while the server restarts, and each process started in a container costs milliseconds.
 */
const GENERATION = `gen() {
  g=; line=
  { IFS= read -r line < "$state"; } 2>/dev/null
  line=\${line#*\\"generation\\":}; line=\${line# }; g=\${line%%[!0-9]*}
}`;

/** Signals the supervisor and waits in the pod (up to 5 s) until it has started the server again, then prints its state. */
const RESTART = `${RESTART_COMMAND.join(" ")} || exit ${COPY_EXIT.noSignal}
n=0
while gen; [ "$g" = "$before" ]; do
  n=$((n + 1))
  [ "$n" -gt 250 ] && exit ${COPY_EXIT.noRestart}
  sleep 0.02
done
echo "${STATE_MARKER}"
cat "$state"`;

/**
 * restart: none. A server that reloads by itself (Flask's and uvicorn's reloaders, gunicorn
 * --reload) starts a new process for the new code, so the copy is live once a process that was not
 * there before the copy ($pids) appears and stays (the script's own children excluded, and
 * anything gone within 0.3 s: a shell's $(...), a sleep). Waits up to 10 s (n counts 50 ms steps,
 * with no process started to read a clock); without one the old code may still be serving, and
 * "verified" would be said of it, so the change is rebuilt instead.
 */
const AWAIT_RELOAD = `n=0
while :; do
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    case "$pids" in *" $p "*) continue ;; esac
    { IFS= read -r st < "$d/stat"; } 2>/dev/null || continue
    st=\${st##*) }; set -- $st
    [ "$2" = "$$" ] && continue
    sleep 0.3; n=$((n + 6))
    [ -d "$d" ] && { echo "${RELOAD_MARKER}$p"; exit 0; }
    pids="$pids$p "
  done
  n=$((n + 1)); [ "$n" -gt 200 ] && exit ${COPY_EXIT.noReload}
  sleep 0.05
done`;

/**
 * One round trip for the whole change: check the tools, back up what is replaced, extract the
 * archive (stdin), delete the removed files, compare each checksum with the local one, and only
 * when all agree restart the server and wait for its new start (or, when it reloads by itself,
 * for its new process). $1 is the number of copies, $2 the supervisor's state file ("" when the
 * server reloads by itself); then each copy's container path and sha256, then the deleted paths.
 */
const COPY_SCRIPT = `copies=$1; state=$2; shift 2
${GENERATION}
command -v tar >/dev/null 2>&1 || exit ${COPY_EXIT.noTar}
command -v sha256sum >/dev/null 2>&1 || exit ${COPY_EXIT.noChecksum}
if [ -n "$state" ]; then gen; before=$g; [ -n "$before" ] || exit ${COPY_EXIT.noSupervisor}; else pids=" $(cd /proc && echo [0-9]*) "; fi
mkdir -p ${LIVE_STATE_DIR} || exit ${COPY_EXIT.noScratch}
: > ${LIVE_STATE_DIR}/backup.list && : > ${LIVE_STATE_DIR}/new.list || exit ${COPY_EXIT.noScratch}
pairs=$((copies * 2)); i=0
for f in "$@"; do
  i=$((i + 1))
  if [ "$i" -le "$pairs" ] && [ $((i % 2)) -eq 0 ]; then continue; fi
  if [ -e "$f" ]; then printf '%s\\n' "\${f#/}" >> ${LIVE_STATE_DIR}/backup.list; else printf '%s\\n' "$f" >> ${LIVE_STATE_DIR}/new.list; fi
done
tar -cf ${LIVE_STATE_DIR}/backup.tar -C / -T ${LIVE_STATE_DIR}/backup.list || exit ${COPY_EXIT.backup}
tar -xf - -C / || exit ${COPY_EXIT.extract}
i=0; differ=0
for f in "$@"; do
  i=$((i + 1))
  if [ "$i" -gt "$pairs" ]; then rm -rf -- "$f" || exit ${COPY_EXIT.remove}
  elif [ $((i % 2)) -eq 1 ]; then path=$f
  else
    sum=$(sha256sum -- "$path")
    [ "\${sum%% *}" = "$f" ] || { differ=1; printf '${DIFFERS}%s\\n' "$path"; }
  fi
done
[ "$differ" = 0 ] || exit ${COPY_EXIT.mismatch}
[ -n "$state" ] || { ${AWAIT_RELOAD}
}
${RESTART}`;

/** Puts the backed-up files back and removes the ones the failed sync added; $1 as the copy's $2: restarts the server when set. */
const RESTORE_SCRIPT = `state=$1
${GENERATION}
[ -z "$state" ] || { gen; before=$g; }
tar -xf ${LIVE_STATE_DIR}/backup.tar -C / || exit 1
while IFS= read -r f; do rm -f -- "$f" || exit 1; done < ${LIVE_STATE_DIR}/new.list
[ -n "$state" ] || exit 0
[ -n "$before" ] || exit ${COPY_EXIT.noSupervisor}
${RESTART}`;

/** The copy's command line: `sh -c SCRIPT sh ...` passes every path as an argument, never parsed by the shell. */
export function copyCommand(copies: readonly FileCopy[], deletes: readonly string[], checksums: ReadonlyMap<string, string>, restart: boolean): string[] {
  const pairs = copies.flatMap((copy) => [copy.remote, checksums.get(copy.remote) ?? ""]);
  return ["sh", "-c", COPY_SCRIPT, "sh", String(copies.length), restart ? LIVE_STATE_FILE : "", ...pairs, ...deletes];
}

/** The restore's command line; with RESTART the server is restarted on the restored files. */
export function restoreCommand(restart: boolean): string[] {
  return ["sh", "-c", RESTORE_SCRIPT, "sh", restart ? LIVE_STATE_FILE : ""];
}

/** What a copy or restore printed: the copies whose checksum differs, the supervisor's state after a restart, or the new process of a server that reloaded itself. */
export function parseScriptOutput(stdout: string): { differing: string[]; state: SupervisorState | undefined; reloadedPid?: number | undefined } {
  const reloaded = stdout.split("\n").find((line) => line.startsWith(RELOAD_MARKER));
  if (reloaded) return { differing: [], state: undefined, reloadedPid: Number(reloaded.slice(RELOAD_MARKER.length)) };
  const at = stdout.indexOf(`${STATE_MARKER}\n`);
  const differing = (at < 0 ? stdout : stdout.slice(0, at))
    .split("\n")
    .filter((line) => line.startsWith(DIFFERS))
    .map((line) => line.slice(DIFFERS.length));
  if (at < 0) return { differing, state: undefined };
  try {
    return { differing, state: JSON.parse(stdout.slice(at + STATE_MARKER.length + 1)) as SupervisorState };
  } catch {
    return { differing, state: undefined }; // a state file caught mid-write: the restart happened, its details are unknown
  }
}

export interface FileCopy {
  /** Absolute path on this machine. */
  local: string;
  /** Absolute path in the container. */
  remote: string;
}

/**
 * The copies' tar archive, each file named by its container path (extracted with -C /). It is
 * streamed from the files, never held in memory (a model can be gigabytes), so it is made twice:
 * once to learn its exact size and each file's sha256 (the copy must read exactly that many bytes,
 * see readingExactly), then once per pod to send.
 */
export interface CopyArchive {
  size: number;
  /** sha256 of each file, keyed by its container path: the copy script checks each copied file against it. */
  checksums: Map<string, string>;
  open(): Readable;
}

export async function archiveCopies(copies: readonly FileCopy[]): Promise<CopyArchive> {
  const checksums = new Map<string, string>();
  let size = 0;
  const measuring = packFiles(copies, (copy) => {
    const hash = createHash("sha256");
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        checksums.set(copy.remote, hash.digest("hex"));
        done();
      },
    });
  });
  for await (const chunk of measuring) size += (chunk as Buffer).length;
  return { size, checksums, open: () => packFiles(copies) };
}

/** A tar stream of COPIES, each file read as it is packed; TAP (one per file) sees its bytes on the way. */
function packFiles(copies: readonly FileCopy[], tap?: (copy: FileCopy) => Transform): Readable {
  const archive = pack();
  void (async () => {
    for (const copy of copies) {
      const info = await stat(copy.local);
      const entry = archive.entry({ name: copy.remote.replace(/^\/+/, ""), size: info.size, mode: info.mode & 0o7777, mtime: info.mtime });
      await (tap ? pipeline(createReadStream(copy.local), tap(copy), entry) : pipeline(createReadStream(copy.local), entry));
    }
    archive.finalize();
  })().catch((error: unknown) => archive.destroy(error as Error));
  return Readable.from(archive);
}
