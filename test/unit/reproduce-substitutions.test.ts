// What `mlkube reproduce` changes in production manifests, and why: the substitutions table for a
// cloud deployment (GPU node pool, storage claim, autoscaler, ingress, custom resource, Secrets),
// replicas fitted to the local capacity, and placeholder Secrets that never carry production values.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ResolvedConfig } from "../../src/config/load.js";
import { configForManifests } from "../../src/reproduce/config.js";
import { fitReplicas, type LocalCapacity } from "../../src/reproduce/replicas.js";
import { placeholderSecrets } from "../../src/reproduce/placeholder-secrets.js";
import { describeSubstitution } from "../../src/reproduce/substitution.js";
import { modelSettings, planReproduction, readinessPath } from "../../src/reproduce/plan.js";
import { formatCpu, formatMemory, parseQuantity } from "../../src/reproduce/quantity.js";
import type { KubeObject } from "../../src/manifests/types.js";

// Objects are arbitrary JSON: the tests read deep fields without narrowing at every step.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const root = fileURLToPath(new URL("../..", import.meta.url));
const CLOUD = join(root, "fixtures/manifests/cloud-production");
const IRIS = join(root, "fixtures/iris-sklearn/production");
const GiB = 2 ** 30;
const LAPTOP: LocalCapacity = { cpuCores: 4, memoryBytes: 8 * GiB, source: "the test cluster" };

async function cloudPlan(options: { capacity?: LocalCapacity; includeSecrets?: boolean; existingSecrets?: string[] } = {}) {
  const { loadManifests } = await import("../../src/manifests/load.js");
  const config: ResolvedConfig = configForManifests(
    (await loadManifests([CLOUD])).map((document) => document.value),
    root,
  );
  return planReproduction(config, {
    files: [CLOUD],
    capacity: options.capacity ?? LAPTOP,
    includeSecrets: options.includeSecrets,
    existingSecrets: options.existingSecrets,
  });
}

function deployment(spec: Json, name = "model"): KubeObject {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name }, spec };
}

function podSpec(resources: Json, replicas?: number): Json {
  return {
    ...(replicas === undefined ? {} : { replicas }),
    selector: { matchLabels: { app: "m" } },
    template: { metadata: { labels: { app: "m" } }, spec: { containers: [{ name: "model", image: "m:1", resources }] } },
  };
}

describe("reproduce substitutions", () => {
  it("lists every cloud-only part of a production deployment with what replaces it and why", async () => {
    const plan = await cloudPlan();
    expect(plan.substitutions.map(describeSubstitution)).toEqual([
      "HorizontalPodAutoscaler iris-gpu: not applied (there is no metrics server locally; the replica count stays fixed)",
      "Ingress iris-gpu: not applied (there is no ingress controller locally; the model is reached on its NodePort)",
      "ServiceMonitor iris-gpu: not applied (a custom resource of monitoring.coreos.com/v1: its definition and operator are not on the local cluster)",
      "PersistentVolumeClaim model-store: not applied (its data lives in the production cluster's storage; pods mount an empty directory instead)",
      "Deployment iris-gpu: nodeSelector cloud.google.com/gke-nodepool=gpu-pool,kubernetes.io/os=linux -> kubernetes.io/os=linux (the local node has none of the production node pools' labels)",
      "Deployment iris-gpu: affinity.nodeAffinity as written -> removed (it selects production nodes by their labels)",
      "Deployment iris-gpu: affinity.podAntiAffinity (required) as written -> removed (one local node cannot keep replicas apart, so all but one would stay Pending)",
      "Deployment iris-gpu: topologySpreadConstraints (DoNotSchedule) topology.kubernetes.io/zone -> removed (the local cluster has no such zones or nodes to spread over)",
      "Deployment iris-gpu: priorityClassName model-serving-high -> none (PriorityClass model-serving-high does not exist on the local cluster, and the API refuses pods that name a missing one)",
      "Deployment iris-gpu: container iris-gpu: limits.nvidia.com/gpu 1 -> removed (no GPU on the local cluster: the model runs on CPU, if it can)",
      "Deployment iris-gpu: volume models persistentVolumeClaim model-store -> emptyDir (the data lives in production storage: the pod starts with an empty directory; put what the model needs in the image)",
      "Secret iris-credentials: placeholder with keys api-key, db-password (production Secrets are not copied, --include-secrets applies them; to use real values, create it first: kubectl create secret generic iris-credentials --namespace default --from-literal=api-key=... --from-literal=db-password=...)",
      "Secret feature-store-credentials: placeholder without keys (the pods need it and the manifests do not define it, production creates it some other way; create the real one first to use it instead)",
      "Deployment iris-gpu: replicas 20 -> 4 (4 fit: each pod requests 1 CPU and 2Gi memory; the test cluster has 4 CPU and 8Gi memory free)",
    ]);
    // transform.ts's notes stay, but none about an object that is not applied.
    expect(plan.notes).toEqual([
      "Service iris-gpu: LoadBalancer -> NodePort 30080 (no load balancer on a local cluster); removed loadBalancerSourceRanges",
      "Deployment iris-gpu: namespace ml-prod -> default (the namespace in mlkube.yaml)",
      "Service iris-gpu: namespace ml-prod -> default (the namespace in mlkube.yaml)",
    ]);
    expect(plan.objects.map((object) => `${object.kind} ${object.metadata.name}`)).toEqual([
      "Deployment iris-gpu",
      "Service iris-gpu",
      "Secret iris-credentials",
      "Secret feature-store-credentials",
    ]);
  });

  it("keeps resources (but the GPU), probes, env, command, tolerations and the image as written", async () => {
    const plan = await cloudPlan();
    const pod: Json = (plan.objects[0] as Json).spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe("registry.example.com/ml/iris-gpu:2.0.1");
    expect(container.command).toEqual(["python3", "app.py"]);
    expect(container.resources).toEqual({ requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } });
    expect(container.readinessProbe).toEqual({ httpGet: { path: "/", port: 5000 }, initialDelaySeconds: 10 });
    expect(container.env[1]).toEqual({ name: "API_KEY", valueFrom: { secretKeyRef: { name: "iris-credentials", key: "api-key" } } });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(pod.affinity).toBeUndefined();
    expect(pod.volumes).toEqual([{ name: "models", emptyDir: {} }]);
    expect(plan.model).toMatchObject({ kind: "Deployment", name: "iris-gpu", namespace: "default", service: "iris-gpu", selector: { app: "iris-gpu" } });
    expect(modelSettings(plan.model)).toEqual({
      container: "iris-gpu",
      memoryLimit: "4Gi",
      cpuLimit: 2,
      cpuLimitText: "2",
      readiness: { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
    });
    expect(readinessPath(plan.model)).toBe("/");
  });

  it("never carries a production Secret value into a placeholder", async () => {
    const plan = await cloudPlan();
    const text = JSON.stringify(plan);
    expect(text).not.toContain("fake-production-api-key");
    expect(text).not.toContain("fake-production-db-password");
    const secret: Json = plan.objects.find((object) => object.metadata.name === "iris-credentials");
    expect(secret.stringData).toEqual({ "api-key": "placeholder", "db-password": "placeholder" });
    expect(secret.metadata.labels["mlkube.dev/model"]).toBe("iris-gpu");
  });

  it("applies the manifests' Secrets with --include-secrets, and uses one that already exists on the cluster", async () => {
    const plan = await cloudPlan({ includeSecrets: true, existingSecrets: ["feature-store-credentials"] });
    expect(plan.substitutions.some((row) => row.object.startsWith("Secret"))).toBe(false);
    expect(plan.kept).toContain("Secret feature-store-credentials: the one already on the local cluster is used as it is");
    const secret: Json = plan.objects.find((object) => object.kind === "Secret");
    expect(secret.stringData["api-key"]).toBe("fake-production-api-key");
    expect(plan.objects.filter((object) => object.kind === "Secret")).toHaveLength(1);
  });

  it("makes no placeholder when this user may not list Secrets: one it cannot see may be real", () => {
    const pod = podSpec({});
    pod.template.spec.containers[0].envFrom = [{ secretRef: { name: "model-key" } }];
    const result = placeholderSecrets([deployment(pod)], { namespace: "default", labels: {}, withheld: [], existing: "unknown" });
    expect(result.objects).toHaveLength(1);
    expect(result.substitutions).toEqual([]);
    expect(result.kept).toEqual([
      "Secret model-key: not made, as this user may not list Secrets to see whether it exists; without it the pods stop with CreateContainerConfigError",
    ]);
  });

  it("lists a withheld Secret no pod uses, and needs no placeholder for an optional reference", () => {
    const pod = podSpec({});
    pod.template.spec.containers[0].envFrom = [{ secretRef: { name: "maybe", optional: true } }];
    const withheld = [
      {
        name: "unused",
        namespace: "default",
        type: "Opaque",
        keys: ["token"],
        command: "kubectl create secret generic unused --namespace default --from-literal=token=...",
      },
    ];
    const result = placeholderSecrets([deployment(pod)], { namespace: "default", labels: {}, withheld, existing: [] });
    expect(result.objects).toHaveLength(1);
    expect(result.substitutions.map(describeSubstitution)).toEqual([
      "Secret unused: not applied with keys token (no pod uses it; production Secrets are not copied, --include-secrets applies them; create it with: kubectl create secret generic unused --namespace default --from-literal=token=...)",
    ]);
  });

  it("keeps the iris fixture's 3 replicas when they fit, and says so", async () => {
    const { loadManifests } = await import("../../src/manifests/load.js");
    const config = configForManifests(
      (await loadManifests([IRIS])).map((document) => document.value),
      root,
    );
    const plan = await planReproduction(config, { files: [IRIS], capacity: LAPTOP });
    expect(plan.substitutions).toEqual([]);
    expect(plan.kept).toEqual([
      "Deployment iris-sklearn: replicas 3 kept (all fit: each pod requests 250m CPU and 256Mi memory; the test cluster has 4 CPU and 8Gi memory free)",
    ]);
    expect(config).toMatchObject({ name: "iris-sklearn", port: 5000, image: { repository: "iris-sklearn" } });
  });
});

describe("fitting replicas to the local cluster", () => {
  const cases: { name: string; resources: Json; replicas: number | undefined; capacity: [number, number]; rows: string[]; kept: string[]; after: number }[] = [
    {
      name: "all fit",
      resources: { requests: { cpu: "500m", memory: "1Gi" } },
      replicas: 3,
      capacity: [2, 4 * GiB],
      rows: [],
      kept: ["Deployment model: replicas 3 kept (all fit: each pod requests 500m CPU and 1Gi memory; cap has 2 CPU and 4Gi memory free)"],
      after: 3,
    },
    {
      name: "memory decides",
      resources: { requests: { cpu: "100m", memory: "3Gi" } },
      replicas: 5,
      capacity: [8, 7 * GiB],
      rows: ["Deployment model: replicas 5 -> 2 (2 fit: each pod requests 100m CPU and 3Gi memory; cap has 8 CPU and 7Gi memory free)"],
      kept: [],
      after: 2,
    },
    {
      name: "limits stand in for missing requests",
      resources: { limits: { cpu: "2", memory: "512Mi" } },
      replicas: 4,
      capacity: [3, 8 * GiB],
      rows: ["Deployment model: replicas 4 -> 1 (1 fit: each pod requests 2 CPU and 512Mi memory; cap has 3 CPU and 8Gi memory free)"],
      kept: [],
      after: 1,
    },
    {
      name: "no requests at all",
      resources: {},
      replicas: 10,
      capacity: [1, GiB],
      rows: [],
      kept: ["Deployment model: replicas 10 kept (its pods request no CPU or memory, so the scheduler places them all)"],
      after: 10,
    },
    {
      name: "replicas default to 1",
      resources: { requests: { cpu: "1" } },
      replicas: undefined,
      capacity: [2, GiB],
      rows: [],
      kept: ["Deployment model: replicas 1 kept (all fit: each pod requests 1 CPU and 0 memory; cap has 2 CPU and 1Gi memory free)"],
      after: 1,
    },
    {
      name: "one pod bigger than the cluster: requests lowered, limits kept",
      resources: { requests: { cpu: "16", memory: "64Gi" }, limits: { memory: "64Gi" } },
      replicas: 2,
      capacity: [4, 8 * GiB],
      rows: [
        "Deployment model: container model: requests.cpu 16 -> 4 (one pod requests more than cap has; limits are kept, they decide OOM kills and CPU throttling)",
        "Deployment model: container model: requests.memory 64Gi -> 8Gi (one pod requests more than cap has; limits are kept, they decide OOM kills and CPU throttling)",
        "Deployment model: replicas 2 -> 1 (not even one pod fits as written: each pod requests 16 CPU and 64Gi memory; cap has 4 CPU and 8Gi memory free)",
      ],
      kept: [],
      after: 1,
    },
  ];
  it.each(cases)("$name", ({ resources, replicas, capacity, rows, kept, after }) => {
    const object = deployment(podSpec(resources, replicas));
    const result = fitReplicas([object], { cpuCores: capacity[0], memoryBytes: capacity[1], source: "cap" });
    expect(result.substitutions.map(describeSubstitution)).toEqual(rows);
    expect(result.kept).toEqual(kept);
    expect((object.spec as Json).replicas ?? 1).toBe(after);
  });

  it("shares the room between workloads in manifest order", () => {
    const first = deployment(podSpec({ requests: { cpu: "1" } }, 3), "first");
    const second = deployment(podSpec({ requests: { cpu: "1" } }, 3), "second");
    const result = fitReplicas([first, second], { cpuCores: 4, memoryBytes: GiB, source: "cap" });
    expect(result.substitutions.map(describeSubstitution)).toEqual([
      "Deployment second: replicas 3 -> 1 (1 fit: each pod requests 1 CPU and 0 memory; cap has 1 CPU and 1Gi memory free)",
    ]);
  });
});

describe("quantities", () => {
  it.each([
    ["250m", 0.25],
    ["1", 1],
    [2, 2],
    ["1.5", 1.5],
    ["256Mi", 256 * 2 ** 20],
    ["1G", 1e9],
    ["2e3", 2000],
    ["lots", undefined],
    [undefined, undefined],
  ] as const)("%s is %s", (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it("formats CPU and memory the way manifests write them", () => {
    expect([formatCpu(0.25), formatCpu(2), formatMemory(256 * 2 ** 20), formatMemory(3.75 * GiB), formatMemory(512)]).toEqual([
      "250m",
      "2",
      "256Mi",
      "3.8Gi",
      "512",
    ]);
  });
});
