// Issue 16.1: zero-config readiness fits the server. The generated probes guess no path; the
// detection asks the well-known health endpoints of a real server (the KServe v1 fixture, run here
// with the host's python3) and finds the one that answers.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectHealthEndpoint } from "../../src/adapters/probe/detect-health.js";
import { loadConfig } from "../../src/config/load.js";
import { describeReadiness } from "../../src/core/health-endpoints.js";
import { generateDeployment } from "../../src/manifests/generate.js";

const KSERVE = fileURLToPath(new URL("../../fixtures/kserve-v1-iris", import.meta.url));
const IRIS = fileURLToPath(new URL("../../fixtures/iris-sklearn", import.meta.url));

function probes(deployment: unknown): { readinessProbe: Record<string, unknown>; livenessProbe: Record<string, unknown> } {
  return (deployment as { spec: { template: { spec: { containers: [{ readinessProbe: Record<string, unknown>; livenessProbe: Record<string, unknown> }] } } } })
    .spec.template.spec.containers[0];
}

describe("generated probes", () => {
  it("zero-config: readiness waits for the port and liveness watches only the port", async () => {
    const config = await loadConfig(KSERVE);
    const { readinessProbe, livenessProbe } = probes(generateDeployment(config, { image: "kserve-v1-iris:1" }));
    expect(readinessProbe).toEqual({ tcpSocket: { port: "http" }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 });
    expect(livenessProbe).toEqual({ tcpSocket: { port: "http" }, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 });
  });

  it("zero-config with a detected endpoint: readiness asks it, liveness still only the port", async () => {
    const config = await loadConfig(KSERVE);
    const { readinessProbe, livenessProbe } = probes(generateDeployment(config, { image: "kserve-v1-iris:1", readinessPath: "/v1/models/iris" }));
    expect(readinessProbe.httpGet).toEqual({ path: "/v1/models/iris", port: "http" });
    expect(livenessProbe.tcpSocket).toEqual({ port: "http" });
  });

  it("paths written in mlkube.yaml are used as written, whatever was detected", async () => {
    const config = await loadConfig(IRIS);
    const { readinessProbe, livenessProbe } = probes(generateDeployment(config, { image: "iris:1", readinessPath: "/v2/health/ready" }));
    expect(readinessProbe.httpGet).toEqual({ path: "/", port: "http" });
    expect(livenessProbe.httpGet).toEqual({ path: "/", port: "http" });
  });
});

describe("health endpoint detection against the KServe v1 fixture", () => {
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    server = spawn("python3", ["server.py"], { cwd: KSERVE, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"] });
    await once(server.stdout!, "data"); // it prints once it listens
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(() => {
    server?.kill();
  });

  it("finds KServe v1's model readiness path through its list of models, though '/' answers 404", async () => {
    const detected = await detectHealthEndpoint(url, "kserve-v1-iris");
    expect(detected.found).toEqual({ path: "/v1/models/iris", protocol: "KServe v1 model readiness" });
    expect(describeReadiness(detected.found, detected.tried)).toBe("readiness: GET /v1/models/iris (KServe v1 model readiness)");
  });

  it("says what it tried when nothing answers 2xx", async () => {
    const detected = await detectHealthEndpoint(`${url}/nothing-here`, "x");
    expect(detected.found).toBeUndefined();
    expect(describeReadiness(detected.found, detected.tried)).toBe(
      "readiness: the port accepting connections (no health endpoint answered 2xx: /v2/health/ready, /v1/models/x, /ping, /readyz, /healthz, /health, /)",
    );
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
