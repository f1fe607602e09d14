import { readdir, readFile, readlink } from "node:fs/promises";
import { createServer } from "node:net";

/** The process listening on a port, as far as this user may see it. */
interface PortHolder {
  pid: number;
  /** The program's name as it was started (argv[0]'s last part), e.g. "python3" or "docker-proxy". */
  command: string;
}

/** True when nothing listens on HOST:PORT: we may bind it ourselves (and release it at once). */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The socket inodes listening on PORT in a /proc/net/tcp or /proc/net/tcp6 table. Each row's
 * local_address ends in the port in hex (":1389" is 5001); state 0A is TCP_LISTEN; the inode is
 * the tenth column (proc(5), "/proc/net/tcp").
 */
export function listeningInodes(table: string, port: number): string[] {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return table
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => columns[1]?.toUpperCase().endsWith(portHex) && columns[3] === "0A" && columns[9] !== undefined && columns[9] !== "0")
    .map((columns) => columns[9] as string);
}

/**
 * Who listens on PORT, from /proc: the listening socket's inode, then the process whose fd links
 * to `socket:[INODE]`. undefined when it cannot be known (no /proc, or the holder belongs to
 * another user and this one may not read its fds).
 */
export async function findPortHolder(port: number, proc = "/proc"): Promise<PortHolder | undefined> {
  const tables = await Promise.all(["tcp", "tcp6"].map((name) => readFile(`${proc}/net/${name}`, "utf8").catch(() => "")));
  const wanted = new Set(tables.flatMap((table) => listeningInodes(table, port)).map((inode) => `socket:[${inode}]`));
  if (wanted.size === 0) return undefined;
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const fds = await readdir(`${proc}/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => "");
      if (wanted.has(target)) {
        return { pid: Number(pid), command: await programName(proc, pid) };
      }
    }
  }
  return undefined;
}

/** "python3 (pid 4242)", or how to find the holder when /proc does not tell. */
export function describePortHolder(port: number, holder: PortHolder | undefined): string {
  if (holder) return `${holder.command} (pid ${holder.pid})`;
  return `another program (find it with 'ss -ltnp "sport = :${port}"' or 'lsof -iTCP:${port} -sTCP:LISTEN')`;
}

/**
 * The name the program was started by: argv[0] from /proc/PID/cmdline, without its directory.
 * Not /proc/PID/comm, which is the main thread's name: Node.js 24 names it "MainThread".
 */
async function programName(proc: string, pid: string): Promise<string> {
  const argv0 = (await readFile(`${proc}/${pid}/cmdline`, "utf8").catch(() => "")).split("\0")[0] ?? "";
  const name = argv0.split("/").at(-1)?.trim();
  if (name) return name;
  return (await readFile(`${proc}/${pid}/comm`, "utf8").catch(() => "?")).trim();
}
