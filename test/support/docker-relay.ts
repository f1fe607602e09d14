/**
 * A Unix socket that relays every connection to the real Docker engine's socket. Pointing
 * DOCKER_HOST at it lets a test take "the engine" away from one client (close the socket and every
 * open connection, and remove the file, as a stopping dockerd does) and bring it back, without
 * stopping the engine that the simulated cluster and other tests run on.
 */
import { rm } from "node:fs/promises";
import type { Server } from "node:http";
import { connect, createServer, type Server as NetServer, type Socket } from "node:net";

/**
 * A listener on a Unix socket standing for the engine's: the sockets it opened are tracked so
 * that stop() cuts them all, as a stopping dockerd does. Subclasses decide what a connection does.
 */
export abstract class SocketRelay {
  private server: Server | NetServer | undefined;
  private readonly open = new Set<Socket>();

  constructor(
    readonly path: string,
    protected readonly engine = "/var/run/docker.sock",
  ) {}

  get dockerHost(): string {
    return `unix://${this.path}`;
  }

  /** Listens on the path with `server`, which a subclass made and wired. */
  protected async listen(server: Server | NetServer): Promise<void> {
    await rm(this.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => resolve());
    });
    this.server = server;
  }

  /** Tracked until closed; a client and its upstream (two sockets) end together. */
  protected track(...sockets: Socket[]): void {
    for (const socket of sockets) {
      this.open.add(socket);
      socket.on("close", () => this.open.delete(socket));
      socket.on("error", () => sockets.forEach((each) => each.destroy()));
    }
    if (sockets.length === 2) for (const socket of sockets) socket.on("close", () => sockets.forEach((each) => each.destroy()));
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

/** Every connection copied byte for byte to the engine. */
export class DockerRelay extends SocketRelay {
  /** How many clients connected through the relay: proof that a client used this socket. */
  connections = 0;

  async start(): Promise<void> {
    const server = createServer((client) => {
      this.connections += 1;
      const upstream = connect(this.engine);
      this.track(client, upstream);
      client.pipe(upstream).pipe(client);
    });
    await this.listen(server);
  }
}
