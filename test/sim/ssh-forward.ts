/**
 * Stand-in for the `ssh -N -L LOCAL:HOST:PORT ...` child that `minikube service` runs for each
 * tunnelled Service (pkg/minikube/tunnel/kic/ssh_conn.go createSSHConnWithRandomPorts). It takes
 * ssh's arguments as minikube passes them (each forward one argument, "-L 40123:10.96.0.10:80")
 * and, like ssh, listens on 127.0.0.1:LOCAL and copies each connection to HOST:PORT.
 *
 * What matters for tools that run minikube: this is a separate process in minikube's process
 * group that nothing ties to its parent. minikube kills it (Process.Kill) only on its way out
 * after SIGINT; a minikube killed or ended by SIGTERM leaves it running, holding the port, as
 * real ssh stays. So the stand-in ignores its parent entirely, and it survives a closed stderr.
 *
 * The one thing said on stderr (minikube logs it, the user never sees it) is ssh -v's
 * "Local forwarding listening" line, which the stand-in's parent waits for.
 */
import { connect, createServer } from "node:net";

process.stderr.on("error", () => undefined);
const say = (line: string): void => void process.stderr.write(`${line}\n`);

const forwards = process.argv.slice(2).flatMap((arg, index, all) => {
  // "-L 40123:host:80" (minikube's form) or "-L" "40123:host:80".
  const spec = arg === "-L" ? all[index + 1] : arg.startsWith("-L") ? arg.slice(2) : undefined;
  const match = /^\s*(\d+):(.+):(\d+)$/.exec(spec ?? "");
  return match ? [{ local: Number(match[1]), host: match[2] as string, port: Number(match[3]) }] : [];
});

for (const forward of forwards) {
  const server = createServer((client) => {
    const upstream = connect(forward.port, forward.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on("error", () => to.destroy());
      from.on("close", () => to.destroy());
    }
    upstream.on("error", (error) => say(`channel: open failed: connect failed: ${error.message}`));
    client.pipe(upstream).pipe(client);
  });
  server.on("error", (error) => {
    // ssh without ExitOnForwardFailure keeps running after a failed bind.
    say(`bind [127.0.0.1]:${forward.local}: ${error.message}\nCould not request local forwarding.`);
  });
  server.listen(forward.local, "127.0.0.1", () => say(`Local forwarding listening on 127.0.0.1 port ${forward.local}.`));
}
