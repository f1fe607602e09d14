/**
 * An HTTP relay in front of the real Docker engine that makes it look like Docker Desktop (or
 * rootless Docker) to whoever asks: `GET /info` (any API version prefix) answers the engine's own
 * info with OperatingSystem "Docker Desktop" (and, when asked, "name=rootless" among
 * SecurityOptions). Those are the facts minikube's NeedsPortForward reads (driver.go, through
 * `docker system info`), and mlkube reads them the same way. Everything else passes through
 * unchanged: streamed request bodies (build contexts, image loads), streamed answers (build and
 * push progress, events, logs) and upgraded connections (attach and exec with `Upgrade: tcp`).
 *
 * Point DOCKER_HOST at `relay.dockerHost` to put a client (mlkube, the minikube stand-in) on a
 * "Docker Desktop" engine while the containers still run on this machine's engine.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { SocketRelay } from "./docker-relay.js";

export interface DesktopLook {
  /** Also report rootless Docker (SecurityOptions "name=rootless"). */
  rootless?: boolean;
}

/** `/info` or `/v1.45/info`, with or without a query. */
const INFO_PATH = /^(?:\/v\d+(?:\.\d+)?)?\/info(?:\?.*)?$/;

export class DockerDesktopRelay extends SocketRelay {
  /** How many `/info` answers were rewritten: proof a client asked through the relay. */
  infoRequests = 0;

  constructor(
    path: string,
    private readonly look: DesktopLook = {},
    engine = "/var/run/docker.sock",
  ) {
    super(path, engine);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => (req.method === "GET" && INFO_PATH.test(req.url ?? "") ? this.info(req, res) : this.pass(req, res)));
    // Docker's hijacked streams: the request asks for `Upgrade: tcp`; from there on the relay only
    // copies bytes both ways, the 101 answer included.
    server.on("upgrade", (req: IncomingMessage, client: Socket, head: Buffer) => {
      const upstream = connect(this.engine);
      this.track(client, upstream);
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let index = 0; index < req.rawHeaders.length; index += 2) lines.push(`${req.rawHeaders[index]}: ${req.rawHeaders[index + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    server.on("connection", (socket: Socket) => this.track(socket));
    await this.listen(server);
  }

  /** Any request but `/info`: the same method, path, headers and body to the engine, its answer back as it streams. */
  private pass(req: IncomingMessage, res: ServerResponse): void {
    const upstream = request({ socketPath: this.engine, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
      // Streams (logs, events, progress) reach the client as they come, not when a buffer fills.
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on("error", (error) => (res.headersSent ? res.destroy() : res.writeHead(502).end(String(error))));
    // A client that goes away (a follow stream stopped) ends the engine's side too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private info(req: IncomingMessage, res: ServerResponse): void {
    const upstream = request({ socketPath: this.engine, method: "GET", path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("end", () => {
        let body = Buffer.concat(chunks);
        if (answer.statusCode === 200) {
          const info = JSON.parse(body.toString("utf8")) as { OperatingSystem?: string; SecurityOptions?: string[] | null };
          info.OperatingSystem = "Docker Desktop";
          if (this.look.rootless) info.SecurityOptions = [...(info.SecurityOptions ?? []), "name=rootless"];
          body = Buffer.from(JSON.stringify(info));
          this.infoRequests += 1;
        }
        const headers = { ...answer.headers, "content-length": String(body.length) };
        delete headers["transfer-encoding"];
        res.writeHead(answer.statusCode ?? 502, headers).end(body);
      });
    });
    upstream.on("error", (error) => res.writeHead(502).end(String(error)));
    upstream.end();
  }
}
