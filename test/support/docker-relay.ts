/**
 * A Unix socket that relays every connection to the real Docker engine's socket. Pointing
 * DOCKER_HOST at it lets a test take "the engine" away from one client (close the socket and every
 * open connection, and remove the file, as a stopping dockerd does) and bring it back, without
 * stopping the engine that the simulated cluster and other tests run on.
 */
import { rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";

export class DockerRelay {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();
  /** How many clients connected through the relay: proof that a client used this socket. */
  connections = 0;

  constructor(
    readonly path: string,
    private readonly engine = "/var/run/docker.sock",
  ) {}

  get dockerHost(): string {
    return `unix://${this.path}`;
  }

  async start(): Promise<void> {
    await rm(this.path, { force: true });
    const server = createServer((client) => {
      this.connections += 1;
      const upstream = connect(this.engine);
      for (const socket of [client, upstream]) {
        this.open.add(socket);
        socket.on("close", () => this.open.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => resolve());
    });
    this.server = server;
  }

  /** The engine "stops": no new connection, the open ones cut, the socket file gone. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.open) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}
