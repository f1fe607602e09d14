/**
 * The same iteration done by hand with plain tools, as a user without mlkube would: `docker build`,
 * `docker push` (or `kind load docker-image`), `kubectl set image`, then HTTP requests until the new
 * version answers a prediction. It runs in its own Deployment and NodePort (30081) on the same
 * cluster, with the same probes and resources as mlkube's, so both sides pay for the same rollout.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE_IMAGE } from "../test/support/engine.js";
import { fingerprint } from "./workspace.js";

const run = promisify(execFile);
export const HAND_PORT = 30081;
const NAME = "iris-hand";

export interface HandTarget {
  path: "registry" | "load";
  cluster: string;
  dir: string;
}

function imageRef(target: HandTarget, label: string): string {
  const repository = target.path === "registry" ? "localhost:5001/iris-hand" : "iris-hand";
  return `${repository}:${label.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}`;
}

function manifest(image: string): string {
  const probe = (initialDelaySeconds: number, periodSeconds: number, timeoutSeconds: number, failureThreshold: number) => ({
    httpGet: { path: "/", port: 5000 },
    initialDelaySeconds,
    periodSeconds,
    timeoutSeconds,
    failureThreshold,
  });
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: NAME, namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: NAME } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: NAME } },
        spec: {
          containers: [
            {
              name: "model",
              image,
              imagePullPolicy: "IfNotPresent",
              ports: [{ containerPort: 5000 }],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
              readinessProbe: probe(0, 2, 2, 3),
              livenessProbe: probe(30, 10, 5, 6),
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: NAME, namespace: "default" },
    spec: { type: "NodePort", selector: { app: NAME }, ports: [{ port: 5000, targetPort: 5000, nodePort: HAND_PORT }] },
  };
  // JSON is YAML: one stream of two documents for kubectl apply -f -.
  return [deployment, service].map((object) => JSON.stringify(object)).join("\n---\n");
}

async function buildAndDeliver(target: HandTarget, image: string): Promise<void> {
  // As `docker build` builds on Docker 23+ and Desktop: with BuildKit (buildx where the CLI has it,
  // the built-in client on a 20.10 CLI), so the mlkube / hand ratio compares like with like.
  await run("docker", ["build", "-q", "-t", image, "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, target.dir], {
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, DOCKER_BUILDKIT: "1" },
  });
  if (target.path === "registry") await run("docker", ["push", image], { maxBuffer: 16 * 1024 * 1024 });
  else await run("kind", ["load", "docker-image", image, "--name", target.cluster], { maxBuffer: 16 * 1024 * 1024 });
}

/** The first, unmeasured deployment (its first push or load moves the whole image). */
export async function deployHand(target: HandTarget, label: string): Promise<void> {
  const image = imageRef(target, label);
  await buildAndDeliver(target, image);
  await new Promise<void>((resolve, reject) => {
    // --validate=false: the simulator's API server serves no OpenAPI document to validate against.
    const apply = execFile("kubectl", ["--context", `kind-${target.cluster}`, "apply", "--validate=false", "-f", "-"], (error, _stdout, stderr) =>
      error ? reject(new Error(`kubectl apply: ${stderr || error.message}`)) : resolve(),
    );
    apply.stdin!.end(manifest(image));
  });
  await untilServing(await fingerprint(target.dir), 300_000);
}

/** One measured hand iteration after the edit was written: milliseconds until the new version predicts. */
export async function handIteration(target: HandTarget, label: string, editedAt: number): Promise<number> {
  const image = imageRef(target, label);
  await buildAndDeliver(target, image);
  await run("kubectl", ["--context", `kind-${target.cluster}`, "set", "image", `deployment/${NAME}`, `model=${image}`]);
  await untilServing(await fingerprint(target.dir), 300_000);
  return Date.now() - editedAt;
}

/** Polls like a user's curl loop: the new version must answer /version, then a correct prediction. */
async function untilServing(version: string, timeoutMs: number): Promise<void> {
  const base = `http://127.0.0.1:${HAND_PORT}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const answer = await (await fetch(`${base}/version`, { signal: AbortSignal.timeout(2_000) })).text();
      if (answer === version) {
        const response = await fetch(`${base}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ features: [5.1, 3.5, 1.4, 0.2] }),
          signal: AbortSignal.timeout(2_000),
        });
        const body = (await response.json()) as { prediction?: number[] };
        if (response.status === 200 && body.prediction?.[0] === 0) return;
      }
    } catch {
      // Not answering yet (the NodePort forwards once a pod is ready).
    }
    await sleep(100);
  }
  throw new Error(`the hand-run deployment did not serve version ${version.slice(0, 12)} within ${timeoutMs} ms`);
}

export async function removeHand(cluster: string): Promise<void> {
  await run("kubectl", ["--context", `kind-${cluster}`, "delete", "deployment,service", NAME, "--ignore-not-found"]).catch(() => undefined);
}
