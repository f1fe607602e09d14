// `mlkube reproduce --dry-run` and reproduce's input errors, through the built CLI: what would be
// applied as YAML on stdout with the substitutions as comments above it, no Secret value ever
// printed, nothing contacted; bad input exits 1 with where and how to fix it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { objectsOf } from "../support/yaml-output.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist", "cli.js");
const scratch = mkdtempSync(join(tmpdir(), "mlkube-reproduce-cli-"));
// No cluster and no engine: a dry run must not need either, and a real run must not get far.
const OFFLINE = { ...process.env, KUBECONFIG: join(scratch, "no-kubeconfig"), DOCKER_HOST: "unix:///nonexistent.sock" };

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function mlkube(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: OFFLINE });
}

describe("mlkube reproduce --dry-run", () => {
  it("prints the iris production manifests with the image from --model and the changes as comments", () => {
    const result = mlkube("reproduce", "fixtures/iris-sklearn/production", "--model", "fixtures/iris-sklearn", "--dry-run");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const comments = result.stdout.split("\n").filter((line) => line.startsWith("#"));
    expect(comments.slice(0, 4)).toEqual([
      "# mlkube reproduce --dry-run: nothing was applied. Replicas are fitted to this machine; a real run asks the cluster's nodes.",
      "# Changed for the local cluster:",
      expect.stringMatching(
        /^# {3}Deployment iris-sklearn: container iris-sklearn: image registry\.example\.com\/ml\/iris-sklearn:1\.4\.2 -> iris-sklearn:[0-9a-f]{16} \(its image is named iris-sklearn\)$/,
      ),
      "#   Service iris-sklearn: LoadBalancer -> NodePort 30080 (no load balancer on a local cluster)",
    ]);
    expect(comments).toContain("# Kept as in production:");
    expect(comments).toContain("#   resources, probes, env and command of every container, except what is listed above");
    const [deployment, service] = objectsOf(result.stdout);
    const container = deployment?.spec.template.spec.containers[0];
    expect(container.resources).toEqual({ requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
    expect(container.readinessProbe).toEqual({ httpGet: { path: "/", port: 5000 }, initialDelaySeconds: 5, periodSeconds: 5 });
    expect(container.env).toEqual([{ name: "MODEL_PATH", value: "/app/model.pkl" }]);
    expect(service?.spec).toMatchObject({ type: "NodePort", ports: [{ port: 80, targetPort: 5000, nodePort: 30080 }] });
  });

  it("lists the cloud-only substitutions and never prints a Secret value, even with --include-secrets", () => {
    for (const flags of [[], ["--include-secrets"]]) {
      const result = mlkube("reproduce", "fixtures/manifests/cloud-production", "--dry-run", ...flags);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain("#   PersistentVolumeClaim model-store: not applied (");
      expect(result.stdout).toContain("#   Deployment iris-gpu: container iris-gpu: limits.nvidia.com/gpu 1 -> removed (no GPU on the local cluster");
      expect(result.stdout).toContain("#   Deployment iris-gpu: image registry.example.com/ml/iris-gpu:2.0.1 kept as written (no --model)");
      expect(result.stdout).not.toMatch(/fake-production-api-key|fake-production-db-password/);
      const secret = objectsOf(result.stdout).find((object) => object.metadata?.name === "iris-credentials");
      expect(secret?.stringData).toEqual(
        flags.length === 0 ? { "api-key": "placeholder", "db-password": "placeholder" } : { "api-key": "<redacted>", "db-password": "<redacted>" },
      );
    }
  });

  it("prints the plan as one JSON object with --json", () => {
    const result = mlkube("reproduce", "fixtures/manifests/cloud-production", "--dry-run", "--json");
    expect(result.status, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as { substitutions: { object: string; setting: string }[]; objects: { kind: string }[]; model: { name: string } };
    expect(plan.model.name).toBe("iris-gpu");
    expect(plan.substitutions).toContainEqual(
      expect.objectContaining({ object: "Deployment iris-gpu", setting: "volume models", production: "persistentVolumeClaim model-store", local: "emptyDir" }),
    );
    expect(plan.objects.map((object) => object.kind)).toEqual(["Deployment", "Service", "Secret", "Secret"]);
  });
});

describe("mlkube reproduce input errors", () => {
  it("reports every bad line of the requests file with its line number, before touching anything", () => {
    const requests = join(scratch, "recorded.jsonl");
    writeFileSync(requests, '{"request": {"path": "/predict"}}\n{"request": {"path": "predict"}}\nnot json\n');
    const result = mlkube("reproduce", "fixtures/iris-sklearn/production", "--requests", requests);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^error: .*recorded\.jsonl has 2 bad lines\n {2}.*recorded\.jsonl:2 request\.path: a path starting with "\/"\n {2}.*recorded\.jsonl:3 is not JSON: /,
    );
    expect(result.stderr).toMatch(/\nfix: Each line must be a JSON object like/);
  });

  it("names a requests file that does not exist", () => {
    const result = mlkube("reproduce", "fixtures/iris-sklearn/production", "--requests", "no-such.jsonl");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: --requests no-such\.jsonl does not exist\.\nfix: Pass a JSON Lines file of recorded requests/);
  });

  it("names a manifest path that does not exist, and needs at least one", () => {
    const missing = mlkube("reproduce", "no-such-dir", "--dry-run");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: no-such-dir does not exist\.\nfix: Pass the production manifests: YAML files or directories of them/);
    const none = mlkube("reproduce");
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("error: missing required argument 'files'");
  });

  it("checks the manifests before it touches Docker or a cluster", () => {
    const result = mlkube("reproduce", "fixtures/manifests/invalid.yaml");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^error: The Kubernetes manifests have 1 error; nothing was applied\.\n {2}fixtures\/manifests\/invalid\.yaml:16:15 .*containerport: unknown field, did you mean `containerPort`\?/,
    );
  });

  it("says when the manifests run no container", () => {
    const dir = join(scratch, "config-only");
    rmSync(dir, { recursive: true, force: true });
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "config.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n");
    const result = mlkube("reproduce", dir, "--dry-run");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^error: None of the manifests runs a container .*\nfix: Pass the files or directories that hold the model's Deployment\.\n$/,
    );
  });
});
