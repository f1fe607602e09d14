import type { Socket } from "node:net";
import { afterEach, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { closeGracefully } from "../../src/adapters/kube/pod-forward.js";

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

it("cuts a forward's WebSocket whose server never answers the closing handshake, within about a second", async () => {
  server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  const held: Socket[] = [];
  // The server stops reading: it never sees the close frame, so it never answers it.
  server.on("connection", (_ws, request) => {
    request.socket.pause();
    held.push(request.socket);
  });
  await new Promise((resolve) => server!.once("listening", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
  await new Promise((resolve) => client.once("open", resolve));

  const started = performance.now();
  const closed = new Promise<number>((resolve) => client.once("close", () => resolve(performance.now() - started)));
  closeGracefully(client);
  // ws alone would wait 30 s for the answer.
  expect(await closed).toBeLessThan(3_000);
  for (const socket of held) socket.destroy();
});
