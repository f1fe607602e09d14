// `mlkube render` end to end, through the built CLI: stdout is the YAML dev would apply, notes go to
// stderr, invalid manifests exit 1 with their locations.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { objectsOf } from "../support/yaml-output.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist", "cli.js");

function mlkube(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });
}

describe("mlkube render", () => {
  it("prints the generated Deployment and Service for fixtures/iris-sklearn", () => {
    const result = mlkube("render", "fixtures/iris-sklearn");
    expect(result.status).toBe(0);
    const objects = objectsOf(result.stdout);
    expect(objects.map((object) => `${object.kind} ${object.metadata.name}`)).toEqual(["Deployment iris-sklearn", "Service iris-sklearn"]);
    expect(objects[0]?.spec.template.spec.containers[0].image).toMatch(/^iris-sklearn:[0-9a-f]{16}$/);
    expect(objects[1]?.spec.ports[0].nodePort).toBe(30080);
    expect(result.stderr).toMatch(/^# note: Deployment iris-sklearn: runAsNonRoot not set/);
  });

  it("renders what 'dev' chose for a zero-config directory: its remembered NodePort and detected readiness path, liveness on the port", () => {
    const home = mkdtempSync(join(tmpdir(), "mlkube-home-"));
    try {
      const dir = join(root, "fixtures", "kserve-v1-iris");
      writeFileSync(
        join(home, "models.json"),
        JSON.stringify({ [dir]: { nodePort: 30082, readiness: { path: "/v1/models/iris", protocol: "KServe v1 model readiness" } } }),
      );
      const result = spawnSync(process.execPath, [cli, "render", dir], { cwd: root, encoding: "utf8", env: { ...process.env, MLKUBE_HOME: home } });
      expect(result.status, result.stderr).toBe(0);
      const [deployment, service] = objectsOf(result.stdout);
      const container = deployment?.spec.template.spec.containers[0];
      expect(container.readinessProbe.httpGet).toEqual({ path: "/v1/models/iris", port: "http" });
      expect(container.livenessProbe.tcpSocket).toEqual({ port: "http" });
      expect(service?.spec.ports[0].nodePort).toBe(30082);
      expect(result.stderr).toContain("# note: readiness: GET /v1/models/iris (KServe v1 model readiness), detected by 'mlkube dev'\n");
      expect(result.stderr).toContain("# note: NodePort 30082: this model's port in earlier 'mlkube dev' sessions");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("uses --image, --replicas and --from", () => {
    const result = mlkube(
      "render",
      "fixtures/iris-sklearn",
      "--image",
      "localhost:5001/iris-sklearn:abc",
      "--replicas",
      "2",
      "--from",
      "fixtures/iris-sklearn/production",
    );
    expect(result.status).toBe(0);
    const [deployment, service] = objectsOf(result.stdout);
    expect(deployment?.spec.template.spec.containers[0].image).toBe("localhost:5001/iris-sklearn:abc");
    expect(deployment?.spec.replicas).toBe(2);
    expect(service?.spec.type).toBe("NodePort");
    expect(result.stderr).toContain("# note: Service iris-sklearn: LoadBalancer -> NodePort 30080 (no load balancer on a local cluster)\n");
  });

  it("lists a withheld Secret on stderr with its keys but not its values", () => {
    const result = mlkube("render", "fixtures/iris-sklearn", "--from", "fixtures/manifests/with-secret");
    expect(result.status).toBe(0);
    expect(objectsOf(result.stdout).map((object) => object.kind)).toEqual(["Deployment", "ConfigMap", "Service"]);
    expect(result.stderr).toContain(
      "# withheld: Secret iris-credentials (fixtures/manifests/with-secret/secret.yaml, document 1) with keys api-key, db-password is not applied",
    );
    expect(result.stdout + result.stderr).not.toMatch(/ZmFrZS1hcGkta2V5LXZhbHVl|fake-db-password-value/);
  });

  it("exits 1 with the location of each problem in a bad manifest", () => {
    const result = mlkube("render", "fixtures/iris-sklearn", "--from", "fixtures/manifests/invalid.yaml");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error: The Kubernetes manifests have 1 error; nothing was applied.\n");
    expect(result.stderr).toContain(
      "  fixtures/manifests/invalid.yaml:16:15 (document 1, Deployment iris-sklearn) spec.template.spec.containers[0].ports[0].containerport: unknown field, did you mean `containerPort`?\n",
    );
  });

  it("rejects a --replicas that is not a whole number", () => {
    const result = mlkube("render", "fixtures/iris-sklearn", "--replicas", "two");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--replicas expects a whole number >= 0, got "two"');
  });
});
