// User manifests made to run on a local cluster: the model's image swapped for the one mlkube built,
// LoadBalancer to NodePort on the pinned port, resources and probes kept exactly, replicas on
// request, Secrets withheld and listed without their values.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type ResolvedConfig } from "../../src/config/load.js";
import { UserError } from "../../src/errors.js";
import { loadManifests } from "../../src/manifests/load.js";
import { planManifests } from "../../src/manifests/plan.js";
import { renderYaml } from "../../src/manifests/render.js";
import { transformManifests, type SourcedObject } from "../../src/manifests/transform.js";
import type { KubeObject } from "../../src/manifests/types.js";

// Objects are arbitrary JSON: the tests read deep fields without narrowing at every step.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const at = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const IMAGE = "iris-sklearn:0123456789abcdef";
let config: ResolvedConfig;

beforeAll(async () => {
  config = await loadConfig(at("fixtures/iris-sklearn"));
});

async function sources(path: string): Promise<SourcedObject[]> {
  return (await loadManifests([at(path)])).map((document) => ({
    object: document.value as KubeObject,
    origin: { file: document.file, document: document.document },
  }));
}

function find(objects: readonly KubeObject[], kind: string, name?: string): Record<string, Json> {
  const found = objects.find((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ""}`);
  return found;
}

function object(kind: string, name: string, rest: Record<string, unknown> = {}): SourcedObject {
  return { object: { apiVersion: kind === "Deployment" ? "apps/v1" : "v1", kind, metadata: { name }, ...rest }, origin: {} };
}

function deploymentWith(name: string, containers: Record<string, unknown>[]): SourcedObject {
  return object("Deployment", name, {
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } },
  });
}

describe("transformManifests on fixtures/iris-sklearn/production", () => {
  it("runs the built image in the model's container, with IfNotPresent", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/iris-sklearn/production"), config, { image: IMAGE });
    const container = find(objects, "Deployment").spec.template.spec.containers[0];
    expect(container.image).toBe(IMAGE);
    expect(container.imagePullPolicy).toBe("IfNotPresent");
    expect(notes).toContain(
      `Deployment iris-sklearn: container iris-sklearn: image registry.example.com/ml/iris-sklearn:1.4.2 -> ${IMAGE} (its image is named iris-sklearn)`,
    );
  });

  it("keeps resources, probes, env and replicas exactly as written", async () => {
    const written = await sources("fixtures/iris-sklearn/production");
    const original = find(
      written.map((source) => source.object),
      "Deployment",
    );
    const { objects } = transformManifests(written, config, { image: IMAGE });
    const container = find(objects, "Deployment").spec.template.spec.containers[0];
    const originalContainer = original.spec.template.spec.containers[0];
    expect(container.resources).toEqual({ requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
    expect(container.readinessProbe).toEqual(originalContainer.readinessProbe);
    expect(container.livenessProbe).toEqual(originalContainer.livenessProbe);
    expect(container.env).toEqual(originalContainer.env);
    expect(find(objects, "Deployment").spec.replicas).toBe(3);
    // The loaded objects themselves are untouched.
    expect(originalContainer.image).toBe("registry.example.com/ml/iris-sklearn:1.4.2");
  });

  it("overrides replicas when asked, and says so", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/iris-sklearn/production"), config, { image: IMAGE, replicas: 1 });
    expect(find(objects, "Deployment").spec.replicas).toBe(1);
    expect(notes).toContain("Deployment iris-sklearn: replicas 3 -> 1 (as asked)");
  });

  it("turns the LoadBalancer Service into a NodePort one on the pinned port", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/iris-sklearn/production"), config, { image: IMAGE });
    const service = find(objects, "Service");
    expect(service.spec).toEqual({
      type: "NodePort",
      selector: { app: "iris-sklearn" },
      ports: [{ port: 80, targetPort: 5000, protocol: "TCP", nodePort: 30080 }],
    });
    expect(notes).toContain("Service iris-sklearn: LoadBalancer -> NodePort 30080 (no load balancer on a local cluster)");
  });

  it("labels every object for the pruner, keeping the user's labels", async () => {
    const { objects } = transformManifests(await sources("fixtures/iris-sklearn/production"), config, { image: IMAGE });
    for (const transformed of objects) {
      expect(transformed.metadata.labels).toEqual({ app: "iris-sklearn", "app.kubernetes.io/managed-by": "mlkube", "mlkube.dev/model": "iris-sklearn" });
      expect(transformed.metadata.namespace).toBe("default");
    }
  });
});

describe("transformManifests on fixtures/manifests/with-secret", () => {
  it("withholds the Secret and lists its keys and the command to create it, never its values", async () => {
    const result = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE });
    expect(result.objects.map((transformed) => transformed.kind)).toEqual(["Deployment", "ConfigMap", "Service"]);
    expect(result.withheldSecrets).toEqual([
      {
        name: "iris-credentials",
        namespace: "default",
        type: "Opaque",
        keys: ["api-key", "db-password"],
        file: at("fixtures/manifests/with-secret/secret.yaml"),
        document: 1,
        command: "kubectl create secret generic iris-credentials --namespace default --from-literal=api-key=... --from-literal=db-password=...",
      },
    ]);
    const everything = JSON.stringify(result) + renderYaml(result.objects);
    expect(everything).not.toContain("ZmFrZS1hcGkta2V5LXZhbHVl");
    expect(everything).not.toContain("fake-db-password-value");
    expect(everything).not.toContain("fake-api-key-value");
  });

  it("includes the Secret when asked", async () => {
    const result = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE, includeSecrets: true });
    expect(result.withheldSecrets).toEqual([]);
    expect(find(result.objects, "Secret").data).toEqual({ "api-key": "ZmFrZS1hcGkta2V5LXZhbHVl" });
  });

  it("rewrites only the model's container, found by image name, and leaves the sidecar alone", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE });
    const [api, sidecar] = find(objects, "Deployment").spec.template.spec.containers;
    expect(api.image).toBe(IMAGE);
    expect(sidecar.image).toBe("prom/statsd-exporter:v0.26.0");
    expect(notes).toContain("Deployment iris-api: container api: imagePullPolicy Always -> IfNotPresent (the tag is unique per content)");
  });

  it("keeps a quantity written as a number as it is", async () => {
    const { objects } = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE });
    expect(find(objects, "Deployment").spec.template.spec.containers[0].resources.limits).toEqual({ cpu: 1, memory: "1Gi" });
  });

  it("pins the nodePort on the port that targets the model's container, and drops load-balancer and cluster-only fields", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE });
    const service = find(objects, "Service");
    expect(service.spec).toEqual({
      type: "NodePort",
      selector: { app: "iris-api" },
      ports: [
        { name: "metrics", port: 9102, targetPort: 9102 },
        { name: "http", port: 80, targetPort: "web", nodePort: 30080 },
      ],
    });
    expect(service.metadata.annotations).toEqual({ "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" });
    expect(notes).toEqual(
      expect.arrayContaining([
        "Service iris-api: LoadBalancer 31999 -> NodePort 30080 (no load balancer on a local cluster); removed loadBalancerIP, loadBalancerSourceRanges",
        "Service iris-api: removed spec.clusterIP (written by the cluster it was exported from)",
      ]),
    );
  });

  it("moves objects into the configured namespace, and says so", async () => {
    const { objects, notes } = transformManifests(await sources("fixtures/manifests/with-secret"), config, { image: IMAGE });
    expect(objects.map((transformed) => transformed.metadata.namespace)).toEqual(["default", "default", "default"]);
    expect(notes).toContain("Deployment iris-api: namespace production -> default (the namespace in mlkube.yaml)");
  });
});

describe("choosing the model's container", () => {
  const web = { name: "web", image: "nginx:1.25" };

  it.each([
    {
      case: "the configured repository",
      containers: [web, { name: "model", image: "iris-sklearn:old" }],
      chosen: "model",
      reason: "its image repository is the model's",
    },
    { case: "the only container", containers: [{ name: "server", image: "example/other:1" }], chosen: "server", reason: "it is the only container" },
    {
      case: "a container named like the model",
      containers: [web, { name: "iris-sklearn", image: "example/other:1" }],
      chosen: "iris-sklearn",
      reason: "it is named iris-sklearn",
    },
  ])("picks $case", ({ containers, chosen, reason }) => {
    const { objects, notes } = transformManifests([deploymentWith("app", containers)], config, { image: IMAGE });
    const rewritten = find(objects, "Deployment").spec.template.spec.containers.filter((container: { image: string }) => container.image === IMAGE);
    expect(rewritten.map((container: { name: string }) => container.name)).toEqual([chosen]);
    expect(notes[0]).toMatch(new RegExp(`\\(${reason}\\)$`));
  });

  it("picks by the production repository the caller names", () => {
    const containers = [web, { name: "api", image: "ghcr.io/team/classifier:2" }];
    const { objects } = transformManifests([deploymentWith("app", containers)], config, { image: IMAGE, productionRepository: "ghcr.io/team/classifier" });
    expect(find(objects, "Deployment").spec.template.spec.containers[1].image).toBe(IMAGE);
  });

  it("says how to choose when it cannot tell", () => {
    const containers = [web, { name: "api", image: "example/other:1" }];
    let error: unknown;
    try {
      transformManifests([deploymentWith("app", containers)], config, { image: IMAGE });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      "mlkube cannot tell which container runs the model: none uses the image iris-sklearn, and there are 2 containers.",
    );
    expect((error as UserError).details).toEqual([
      "generated Deployment app: container web (image nginx:1.25)",
      "generated Deployment app: container api (image example/other:1)",
    ]);
    expect((error as UserError).hint).toMatch(/image\.repository in mlkube\.yaml.*name the model's container "iris-sklearn"/);
  });

  it("refuses manifests without any container", () => {
    expect(() => transformManifests([object("ConfigMap", "settings", { data: {} })], config, { image: IMAGE })).toThrow(
      /None of the manifests runs a container/,
    );
  });
});

describe("a model the manifests do not expose", () => {
  it("gets a NodePort Service selecting its pods on the pinned port", () => {
    const containers = [{ name: "iris", image: "iris-sklearn:1", ports: [{ name: "web", containerPort: 5000 }] }];
    const { objects, notes } = transformManifests([deploymentWith("iris", containers)], config, { image: IMAGE });
    expect(find(objects, "Service").spec).toEqual({
      type: "NodePort",
      selector: { app: "iris" },
      ports: [{ name: "http", port: 5000, targetPort: "web", nodePort: 30080, protocol: "TCP" }],
    });
    expect(notes).toContain("Service iris-sklearn: added: no Service in the manifests routes to the model's pods; NodePort 30080 exposes them");
  });
});

describe("planManifests", () => {
  it("generates the Deployment and Service when there are no manifests", async () => {
    const plan = await planManifests(config, { image: IMAGE });
    expect(plan.objects.map((planned) => `${planned.kind} ${planned.metadata.name}`)).toEqual(["Deployment iris-sklearn", "Service iris-sklearn"]);
    expect(plan.notes).toEqual([
      "Deployment iris-sklearn: runAsNonRoot not set: the image's user is not known to be a numeric non-root uid (render does not inspect the image)",
    ]);
  });

  it("uses the manifests given, validated before they are transformed", async () => {
    const plan = await planManifests(config, { image: IMAGE, from: [at("fixtures/manifests/with-secret")] });
    expect(plan.objects).toHaveLength(3);
    expect(plan.withheldSecrets).toHaveLength(1);
    await expect(planManifests(config, { image: IMAGE, from: [at("fixtures/manifests/invalid.yaml")] })).rejects.toThrow(/1 error/);
  });
});
