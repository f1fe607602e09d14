import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntilReachable } from "../../src/adapters/probe/wait-reachable.js";

describe("waiting for a freshly rolled-out model to answer", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("returns once the server answers, whatever the status", async () => {
    // Reserve a port, then start answering on it only after a while, as a NodePort rule does.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    setTimeout(() => {
      server = createServer((_request, response) => response.writeHead(503).end("loading"));
      server.listen(port, "127.0.0.1");
    }, 600);
    const waited = await waitUntilReachable(`http://127.0.0.1:${port}/`, { timeoutMs: 10_000 });
    expect(waited).toBeGreaterThanOrEqual(500);
  });

  it("gives up with a clear error when nothing ever answers", async () => {
    await expect(waitUntilReachable("http://127.0.0.1:1/", { timeoutMs: 600 })).rejects.toMatchObject({
      kind: "unreachable",
      message: expect.stringContaining("The rollout finished but the model does not answer at http://127.0.0.1:1/"),
    });
  });
});
