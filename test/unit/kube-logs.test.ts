/**
 * followLogs against a small stand-in for the API server's pod list, watch and log endpoints, so a
 * dropped log stream can be produced on purpose: the follower must reconnect from its last line's
 * time and deliver every line exactly once. (The simulator cannot drop a stream on demand.)
 */
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { connectKube } from "../../src/adapters/kube/client.js";
import { followLogs, type LogFollower, type LogLine, type LogNotice } from "../../src/adapters/kube/logs.js";

const POD = {
  metadata: { name: "iris-7d9f-abcde", namespace: "default", resourceVersion: "5", labels: { app: "iris" } },
  spec: { containers: [{ name: "model", image: "iris:1" }] },
  status: {
    phase: "Running",
    containerStatuses: [
      { name: "model", ready: true, restartCount: 0, image: "iris:1", imageID: "", state: { running: { startedAt: "2026-01-01T00:00:00Z" } } },
    ],
  },
};

/** Ten lines, two per second, with the kubelet's fixed-width nanosecond timestamps. */
const LINES = Array.from({ length: 10 }, (_, index) => ({
  time: `2026-01-01T00:00:0${Math.floor(index / 2)}.${String(100_000_000 * (index % 2) + 123).padStart(9, "0")}Z`,
  text: `line ${index + 1}`,
}));

interface LogRequest {
  query: URLSearchParams;
}

/** Serves the pod list, an idle watch, and the log; `onLog` decides what each log request gets. */
async function fakeApiServer(
  onLog: (request: LogRequest, response: ServerResponse, index: number) => void,
  logStatus: (index: number) => number = () => 200,
): Promise<{ server: Server; url: string; logRequests: LogRequest[] }> {
  const logRequests: LogRequest[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname === "/api/v1/namespaces/default/pods" && url.searchParams.get("watch") !== "true") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "5" }, items: [POD] }));
    } else if (url.pathname === "/api/v1/namespaces/default/pods") {
      response.writeHead(200, { "content-type": "application/json" }); // a watch with nothing to say
      response.flushHeaders();
    } else if (url.pathname === `/api/v1/namespaces/default/pods/${POD.metadata.name}/log`) {
      const logRequest = { query: url.searchParams };
      logRequests.push(logRequest);
      const status = logStatus(logRequests.length - 1);
      if (status !== 200) {
        response
          .writeHead(status, { "content-type": "application/json" })
          .end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: status }));
        return;
      }
      response.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
      onLog(logRequest, response, logRequests.length - 1);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logRequests };
}

function kubeFor(url: string) {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "fake" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return connectKube("fake", config);
}

/** What the kubelet sends for sinceTime: every line from that second on (the API rounds it). */
function linesSince(sinceTime: string | null) {
  if (!sinceTime) return LINES;
  const second = sinceTime.slice(0, 19);
  return LINES.filter((line) => line.time.slice(0, 19) >= second);
}

const wire = (lines: typeof LINES) => lines.map((line) => `${line.time} ${line.text}\n`).join("");

/**
 * The follower's reconnects and back-offs run on timers, faked so that the tests move the clock
 * instead of sleeping through them. The HTTP traffic stays real: it is real socket I/O, waited for
 * in real time (`io`, `until`).
 */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
}

const realSetTimeout = globalThis.setTimeout;
/** A real pause, for real socket I/O to arrive. */
const io = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

/**
 * Waits in real time until `check` holds. With `stepMs`, each look also moves the fake clock that
 * much, so whatever the follower does on a timer (reconnect, back-off) comes at once.
 */
async function until(check: () => boolean, timeoutMs: number, what: () => string, stepMs = 0): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what()}`);
    if (stepMs > 0) await vi.advanceTimersByTimeAsync(stepMs);
    await io(10);
  }
}

describe("following a container's log", () => {
  let follower: LogFollower | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    follower?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    vi.useRealTimers();
  });

  it.each([
    [403, "not allowed to read pod logs"],
    [401, "the cluster did not accept the credentials"],
    [404, "the pod or container no longer exists"],
  ])("a log request answered %i is said once and not asked again", async (status, says) => {
    useFakeClock();
    const fake = await fakeApiServer(
      () => undefined,
      () => status,
    );
    server = fake.server;
    const notices: LogNotice[] = [];
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, () => undefined, {
      follow: true,
      onNotice: (notice) => notices.push(notice),
    });
    await until(
      () => notices.some((notice) => notice.message.includes(`HTTP ${status}`)),
      5_000,
      () => JSON.stringify(notices),
    );
    await vi.advanceTimersByTimeAsync(2_000); // the old code asked again every 500 ms
    await io(100); // a request asked on a timer would have reached the server by now
    expect(fake.logRequests).toHaveLength(1);
    expect(notices.find((notice) => notice.message.includes(`HTTP ${status}`))?.message).toBe(
      `logs of container model: ${says} (HTTP ${status}); not asked again until the model's pods change`,
    );
  });

  it.each([
    ["ends cleanly", (response: ServerResponse) => response.end()],
    ["is cut off mid-stream", (response: ServerResponse) => response.socket?.destroy()],
  ])("reconnects when the stream %s, from the last line's time, without repeating or losing a line", async (_how, drop) => {
    const fake = await fakeApiServer((request, response, index) => {
      if (index === 0) {
        // Lines 1-5 (5 and 6 share a second), then the connection goes away.
        response.write(wire(LINES.slice(0, 5)));
        setTimeout(() => drop(response), 100);
        return;
      }
      response.write(wire(linesSince(request.query.get("sinceTime"))));
    });
    server = fake.server;
    const lines: LogLine[] = [];
    const notices: LogNotice[] = [];
    useFakeClock();
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), {
      follow: true,
      onNotice: (notice) => notices.push(notice),
    });

    await until(
      () => lines.length >= 5,
      10_000,
      () => `${lines.length} lines`,
    ); // the first stream's lines are in
    await vi.advanceTimersByTimeAsync(100); // the connection goes away
    await until(
      () => lines.length >= 10,
      10_000,
      () => `${lines.length} lines: ${lines.map((line) => line.text).join(", ")}; ${fake.logRequests.length} log request(s)`,
      100,
    );
    await io(300); // anything repeated would arrive now (the resumed stream is real socket I/O)
    expect(lines.map((line) => line.text)).toEqual(LINES.map((line) => line.text));
    expect(lines[0]).toEqual({ pod: POD.metadata.name, container: "model", time: LINES[0]!.time, text: "line 1" });
    expect(fake.logRequests[1]?.query.get("sinceTime")).toBe(LINES[4]!.time);
    expect(fake.logRequests[1]?.query.get("follow")).toBe("true");
    expect(notices.map((notice) => notice.message)).toEqual(["following container model"]);
  });

  it("shows a line cut in two by a dropped stream once, whole", async () => {
    const fake = await fakeApiServer((request, response, index) => {
      if (index === 0) {
        const sixth = `${LINES[5]!.time} ${LINES[5]!.text}\n`;
        response.write(wire(LINES.slice(0, 5)) + sixth.slice(0, sixth.length - 3));
        setTimeout(() => response.socket?.destroy(), 100);
        return;
      }
      response.write(wire(linesSince(request.query.get("sinceTime"))));
    });
    server = fake.server;
    const lines: LogLine[] = [];
    useFakeClock();
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), { follow: true });
    await until(
      () => lines.length >= 5,
      10_000,
      () => `${lines.length} lines`,
    ); // the first stream's whole lines are in
    await vi.advanceTimersByTimeAsync(100); // the connection goes away
    await until(
      () => lines.length >= 10,
      10_000,
      () => lines.map((line) => line.text).join(", "),
      100,
    );
    await io(300);
    expect(lines.map((line) => line.text)).toEqual(LINES.map((line) => line.text));
  });

  it("shows a dead container's last line even without a newline, once", async () => {
    const fake = await fakeApiServer((_request, response) => {
      // The container is gone: every (re)connection gets the same log, ending mid-line, and ends.
      response.end(`${LINES[0]!.time} ${LINES[0]!.text}\n${LINES[1]!.time} Traceback: out of`);
    });
    server = fake.server;
    const lines: LogLine[] = [];
    useFakeClock(); // each ended stream is asked again after 0.5 s
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), { follow: true });
    await until(
      () => lines.length >= 2 && fake.logRequests.length >= 4,
      10_000,
      () => lines.map((line) => line.text).join(", "),
      100,
    );
    expect(lines.map((line) => line.text)).toEqual(["line 1", "Traceback: out of"]);
  });

  it("holds a line that never ends to its first 64 KiB, and keeps characters split across chunks whole", async () => {
    const fake = await fakeApiServer((_request, response) => {
      response.write(`${LINES[0]!.time} ${LINES[0]!.text}\n${LINES[1]!.time} `);
      for (let index = 0; index < 50; index++) response.write("x".repeat(10_000)); // 500 KB, no newline
      const accented = Buffer.from(`\n${LINES[2]!.time} modèle chargé\n`);
      const split = accented.indexOf(Buffer.from("è")) + 1; // in the middle of "è"
      response.write(accented.subarray(0, split));
      setTimeout(() => response.write(accented.subarray(split)), 50);
    });
    server = fake.server;
    const lines: LogLine[] = [];
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), { follow: true });
    await until(
      () => lines.length >= 3,
      10_000,
      () => `${lines.length} lines`,
    );
    expect(lines.map((line) => line.text.slice(0, 12))).toEqual(["line 1", "xxxxxxxxxxxx", "modèle charg"]);
    expect(lines[1]!.text.length).toBeLessThan(70 * 1024);
    expect(lines[1]!.text).toMatch(/… \(line cut at 64 KiB\)$/);
    expect(lines[2]!.text).toBe("modèle chargé");
  });

  it("keeps a second identical line at a new time: only what was already delivered is skipped", async () => {
    const repeated = [
      { time: "2026-01-01T00:00:00.000000001Z", text: "POST /predict 200" },
      { time: "2026-01-01T00:00:00.000000002Z", text: "POST /predict 200" },
    ];
    const fake = await fakeApiServer((request, response, index) => {
      if (index === 0) {
        response.write(`${repeated[0]!.time} ${repeated[0]!.text}\n`);
        setTimeout(() => response.socket?.destroy(), 100);
        return;
      }
      response.write(repeated.map((line) => `${line.time} ${line.text}\n`).join(""));
    });
    server = fake.server;
    const lines: LogLine[] = [];
    useFakeClock();
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), { follow: true });
    await until(
      () => lines.length >= 1,
      10_000,
      () => `${lines.length} lines`,
    ); // the first stream's line is in
    await vi.advanceTimersByTimeAsync(100); // the connection goes away
    await until(
      () => lines.length >= 2,
      10_000,
      () => `${lines.length} lines`,
      100,
    );
    await io(300);
    expect(lines.map((line) => line.time)).toEqual(repeated.map((line) => line.time));
  });
});

/**
 * An API server whose pod watch the test drives (`addPod`), whose pod list may be refused, and
 * whose log endpoint answers each request with the status `logStatus` picks (lines on 200).
 */
async function drivenApiServer(options: { listStatus?: number; logStatus: (pod: string, index: number) => number }) {
  const logRequests: string[] = [];
  let listRequests = 0;
  const watches: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const logPath = /^\/api\/v1\/namespaces\/default\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (url.pathname === "/api/v1/namespaces/default/pods" && url.searchParams.get("watch") === "true") {
      response.writeHead(200, { "content-type": "application/json" });
      response.flushHeaders();
      watches.push(response);
    } else if (url.pathname === "/api/v1/namespaces/default/pods") {
      listRequests++;
      const status = options.listStatus ?? 200;
      const body =
        status === 200
          ? { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "5" }, items: [POD] }
          : { kind: "Status", apiVersion: "v1", status: "Failure", code: status, message: `pods is forbidden: User "dev" cannot list resource "pods"` };
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    } else if (logPath) {
      const pod = logPath[1]!;
      const status = options.logStatus(pod, logRequests.filter((name) => name === pod).length);
      logRequests.push(pod);
      if (status !== 200) {
        response
          .writeHead(status, { "content-type": "application/json" })
          .end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: status }));
        return;
      }
      response.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
      response.write(wire(LINES.slice(0, 2)));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addPod = (name: string) => {
    const pod = { ...POD, metadata: { ...POD.metadata, name, resourceVersion: "6" } };
    for (const watch of watches) watch.write(`${JSON.stringify({ type: "ADDED", object: pod })}\n`);
  };
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logRequests,
    listRequests: () => listRequests,
    watching: () => watches.length > 0,
    addPod,
  };
}

describe("following logs the API server refuses", () => {
  let follower: LogFollower | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    follower?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    vi.useRealTimers();
  });

  it("a stream refused with 403 is asked again when the model's pods change (a rollout that came with the rights), and its lines follow", async () => {
    const fake = await drivenApiServer({ logStatus: (pod, index) => (pod === POD.metadata.name && index === 0 ? 403 : 200) });
    server = fake.server;
    const lines: LogLine[] = [];
    const notices: LogNotice[] = [];
    useFakeClock();
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), {
      follow: true,
      onNotice: (notice) => notices.push(notice),
    });
    await until(
      () => notices.some((notice) => notice.message.includes("HTTP 403")) && fake.watching(),
      5_000,
      () => JSON.stringify(notices),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    await io(100); // a request asked on a timer would have reached the server by now
    expect(fake.logRequests).toEqual([POD.metadata.name]);

    fake.addPod("iris-7d9f-fghij");
    await until(
      () => lines.some((line) => line.pod === POD.metadata.name),
      5_000,
      () => `${JSON.stringify(fake.logRequests)} ${JSON.stringify(notices)}`,
    );
    expect(fake.logRequests.filter((pod) => pod === POD.metadata.name)).toHaveLength(2);
  });

  it("a refused pod list is said once, with the API server's words, and asked again with back-off rather than every second", async () => {
    const fake = await drivenApiServer({ listStatus: 403, logStatus: () => 200 });
    server = fake.server;
    const notices: LogNotice[] = [];
    useFakeClock();
    const started = Date.now();
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, () => undefined, {
      follow: true,
      onNotice: (notice) => notices.push(notice),
    });
    // Each request's refusal comes back over the socket (real time), then the clock goes to the next ask.
    const askedAt: number[] = [];
    while (Date.now() - started <= 4_000) {
      await until(
        () => fake.listRequests() > askedAt.length && vi.getTimerCount() > 0,
        5_000,
        () => `${fake.listRequests()} list requests, ${vi.getTimerCount()} timers`,
      );
      askedAt.push(Date.now() - started);
      await vi.advanceTimersToNextTimerAsync();
    }
    // 0 s, 0.5 s, 1.5 s, 3.5 s: four requests in 4 s.
    expect(askedAt).toEqual([0, 500, 1_500, 3_500]);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toMatch(/^logs: cannot list the model's pods \(HTTP 403: .*pods is forbidden.*\); asking again, at most every 10 s$/);
  });

  it("a log request that keeps failing (500) says why once, keeps asking with back-off, and follows once it answers", async () => {
    const fake = await drivenApiServer({ logStatus: (_pod, index) => (index < 3 ? 500 : 200) });
    server = fake.server;
    const lines: LogLine[] = [];
    const notices: LogNotice[] = [];
    useFakeClock(); // asked again after 0.5 s, 1 s, 2 s
    follower = followLogs(kubeFor(fake.url), { namespace: "default", selector: "app=iris" }, (line) => lines.push(line), {
      follow: true,
      onNotice: (notice) => notices.push(notice),
    });
    await until(
      () => lines.length >= 2,
      15_000,
      () => `${fake.logRequests.length} requests; ${JSON.stringify(notices)}`,
      100,
    );
    const failures = notices.filter((notice) => notice.message.includes("HTTP 500"));
    expect(failures.map((notice) => notice.message)).toEqual([
      expect.stringMatching(/^logs of container model: HTTP 500.*; asking again, at most every 10 s$/),
    ]);
  });
});
