import { basename } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { describePortHolder, findPortHolder, listeningInodes, portIsFree } from "../../src/adapters/cluster/port-holder.js";

// Rows in /proc/net/tcp's format (proc(5)): port 5001 is 0x1389; state 0A is LISTEN.
const TABLE = [
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "   0: 0100007F:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0",
  "   1: 0100007F:1389 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1",
  "   2: 00000000:138A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0",
].join("\n");

describe("who holds a port", () => {
  it("reads the listening socket's inode, not established connections or other ports", () => {
    expect(listeningInodes(TABLE, 5001)).toEqual(["4242"]);
    expect(listeningInodes(TABLE, 5002)).toEqual(["4444"]);
    expect(listeningInodes(TABLE, 80)).toEqual([]);
  });

  it("finds this very process behind a port it listens on, through /proc", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await portIsFree("127.0.0.1", port)).toBe(false);
      // The name it was started by ("node"), not its main thread's (Node.js 24 calls that "MainThread").
      expect(await findPortHolder(port)).toEqual({ pid: process.pid, command: basename(process.argv0) });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await portIsFree("127.0.0.1", port)).toBe(true);
  });

  it("names the holder, or says how to find it", () => {
    expect(describePortHolder(5001, { pid: 7, command: "python3" })).toBe("python3 (pid 7)");
    expect(describePortHolder(5001, undefined)).toBe(`another program (find it with 'ss -ltnp "sport = :5001"' or 'lsof -iTCP:5001 -sTCP:LISTEN')`);
  });
});
