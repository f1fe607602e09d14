// The Deployment and Service mlkube generates for a model without manifests of its own: every field
// that decides whether the model starts, is reachable and keeps the last good version serving.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type ResolvedConfig } from "../../src/config/load.js";
import { generateObjects, securityNote } from "../../src/manifests/generate.js";
import { validateManifests } from "../../src/manifests/validate.js";

const fixture = fileURLToPath(new URL("../../fixtures/iris-sklearn", import.meta.url));
const IMAGE = "localhost:5001/iris-sklearn:0123456789abcdef";
let config: ResolvedConfig;

beforeAll(async () => {
  config = await loadConfig(fixture);
});

function generated(options: Partial<Parameters<typeof generateObjects>[1]> = {}) {
  const { deployment, service } = generateObjects(config, { image: IMAGE, ...options });
  // The generated objects are plain JSON; read them as such.
  return { deployment: deployment as unknown as DeploymentShape, service: service as unknown as ServiceShape };
}

interface DeploymentShape {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    replicas: number;
    revisionHistoryLimit: number;
    selector: { matchLabels: Record<string, string> };
    strategy: unknown;
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } };
  };
}
interface ServiceShape {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { type: string; selector: Record<string, string>; ports: Record<string, unknown>[] };
}

describe("generated Deployment for fixtures/iris-sklearn", () => {
  it("runs the content-tagged image with IfNotPresent on the configured port", () => {
    const container = generated().deployment.spec.template.spec.containers[0];
    expect(container).toMatchObject({
      name: "iris-sklearn",
      image: IMAGE,
      imagePullPolicy: "IfNotPresent",
      ports: [{ name: "http", containerPort: 5000, protocol: "TCP" }],
    });
  });

  it("carries the probes from mlkube.yaml, with the defaults filled in", () => {
    const container = generated().deployment.spec.template.spec.containers[0];
    expect(container?.readinessProbe).toEqual({
      httpGet: { path: "/", port: "http" },
      initialDelaySeconds: 0,
      periodSeconds: 1,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(container?.livenessProbe).toEqual({
      httpGet: { path: "/", port: "http" },
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    });
  });

  it("carries the resources from mlkube.yaml", () => {
    const container = generated().deployment.spec.template.spec.containers[0];
    expect(container?.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } });
  });

  it("leaves out resources and env when mlkube.yaml has none, and includes env when it has some", () => {
    const bare = { ...config, deploy: { ...config.deploy, env: {}, resources: { requests: {}, limits: {} } } };
    const container = generateObjects(bare, { image: IMAGE }).deployment as unknown as DeploymentShape;
    expect(container.spec.template.spec.containers[0]).not.toHaveProperty("resources");
    expect(container.spec.template.spec.containers[0]).not.toHaveProperty("env");
    const withEnv = { ...config, deploy: { ...config.deploy, env: { LOG_LEVEL: "debug", WORKERS: "2" } } };
    const envContainer = (generateObjects(withEnv, { image: IMAGE }).deployment as unknown as DeploymentShape).spec.template.spec.containers[0];
    expect(envContainer?.env).toEqual([
      { name: "LOG_LEVEL", value: "debug" },
      { name: "WORKERS", value: "2" },
    ]);
  });

  it.each([
    { runAsUser: undefined, runAsNonRoot: undefined, why: "unknown user" },
    { runAsUser: 0, runAsNonRoot: undefined, why: "root" },
    { runAsUser: 10001, runAsNonRoot: true, why: "numeric non-root uid" },
  ])("hardens the container; runAsNonRoot is $runAsNonRoot for $why", ({ runAsUser, runAsNonRoot }) => {
    const container = generated({ runAsUser }).deployment.spec.template.spec.containers[0];
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      ...(runAsNonRoot ? { runAsNonRoot } : {}),
    });
  });

  it("explains a missing runAsNonRoot, and says nothing when it is set", () => {
    expect(securityNote(undefined)).toMatch(/not known/);
    expect(securityNote(0)).toMatch(/root.*USER 10001/);
    expect(securityNote(10001)).toBeUndefined();
  });

  it("rolls out without ever dropping below the replicas that serve", () => {
    const { spec } = generated().deployment;
    expect(spec.replicas).toBe(1);
    expect(spec.revisionHistoryLimit).toBe(3);
    expect(spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it("takes replicas from the options over mlkube.yaml", () => {
    expect(generated({ replicas: 0 }).deployment.spec.replicas).toBe(0);
  });

  it("labels the Deployment and its pods for the pruner, and selects the pods by name", () => {
    const { metadata, spec } = generated().deployment;
    const labels = { "app.kubernetes.io/name": "iris-sklearn", "app.kubernetes.io/managed-by": "mlkube", "mlkube.dev/model": "iris-sklearn" };
    expect(metadata).toEqual({ name: "iris-sklearn", namespace: "default", labels });
    expect(spec.template.metadata.labels).toEqual(labels);
    expect(spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "iris-sklearn", "mlkube.dev/model": "iris-sklearn" });
  });
});

describe("generated Service for fixtures/iris-sklearn", () => {
  it("is a NodePort Service on the pinned nodePort, routing to the model's named port", () => {
    const { service, deployment } = generated();
    expect(service.metadata).toMatchObject({
      name: "iris-sklearn",
      namespace: "default",
      labels: { "app.kubernetes.io/managed-by": "mlkube", "mlkube.dev/model": "iris-sklearn" },
    });
    expect(service.spec).toEqual({
      type: "NodePort",
      selector: deployment.spec.selector.matchLabels,
      ports: [{ name: "http", port: 5000, targetPort: "http", nodePort: 30080, protocol: "TCP" }],
    });
  });

  it("uses the nodePort given in the options", () => {
    expect(generated({ nodePort: 31000 }).service.spec.ports[0]?.nodePort).toBe(31000);
  });
});

describe("generated objects", () => {
  it("pass the Kubernetes schema checks", async () => {
    const { deployment, service } = generateObjects(config, { image: IMAGE, runAsUser: 10001 });
    const result = await validateManifests([{ value: deployment }, { value: service }]);
    expect(result.problems).toEqual([]);
  });
});
