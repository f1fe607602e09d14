/**
 * Which Deployment and Service run the model (src/deploy/target.ts): from the objects dev is about
 * to apply, and from what mlkube applied earlier, which `mlkube test` finds on the cluster by the
 * model's label (against the simulator's API server).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyObject, connectKube, type KubeAccess } from "../../src/adapters/kube/client.js";
import { deployedTarget, targetOf } from "../../src/deploy/target.js";
import { managedLabels } from "../../src/manifests/labels.js";
import type { KubeObject } from "../../src/manifests/types.js";
import { startTestCluster, type TestCluster } from "../sim/apiserver/testing.js";

const CONFIG = { name: "iris", namespace: "default" };

function deployment(name: string, model?: string): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default", labels: model ? managedLabels(model) : {} },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "model", image: "model:v1" }] } },
    },
  };
}

function service(name: string, nodePort: number | undefined, model?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", labels: model ? managedLabels(model) : {} },
    spec: { type: nodePort ? "NodePort" : "ClusterIP", selector: { app: name }, ports: [{ port: 80, targetPort: 8080, ...(nodePort ? { nodePort } : {}) }] },
  };
}

describe("targetOf (the objects dev applies)", () => {
  it("takes the Deployment named like the model and the Service on the chosen NodePort", () => {
    const objects = [deployment("sidecar"), deployment("iris"), service("metrics", undefined), service("iris-public", 30081)];
    expect(targetOf(objects, CONFIG, 30081)).toEqual({
      namespace: "default",
      deployment: "iris",
      selector: "app=iris",
      service: "iris-public",
      nodePort: 30081,
    });
  });

  it("takes the only Deployment of the user's manifests, whatever its name", () => {
    expect(targetOf([deployment("serving"), service("serving", 30080)], CONFIG, 30080)).toMatchObject({ deployment: "serving", service: "serving" });
  });

  it("without a Deployment, says so and how to fix it", () => {
    expect(() => targetOf([service("iris", 30080)], CONFIG, 30080)).toThrow(
      expect.objectContaining({ message: "The rendered objects contain no Deployment to roll out.", hint: expect.stringContaining("manifests:") }),
    );
  });
});

describe("deployedTarget (what mlkube applied, for mlkube test)", () => {
  let cluster: TestCluster;
  let kube: KubeAccess;

  beforeAll(async () => {
    cluster = await startTestCluster();
    kube = connectKube("kind-sim", cluster.kc);
    // The model's objects from a user's manifests, another model's, and an unlabelled one named like the model.
    for (const object of [
      deployment("serving", "iris"),
      service("serving-internal", undefined, "iris"),
      service("serving", 30082, "iris"),
      deployment("other", "other"),
      service("other", 30083, "other"),
      deployment("iris"),
    ])
      await applyObject(kube, object as never);
  });
  afterAll(async () => cluster?.close());

  it("finds the Deployment and the NodePort Service that carry the model's label", async () => {
    expect(await deployedTarget(kube, CONFIG, "kind-sim")).toEqual({
      namespace: "default",
      deployment: "serving",
      selector: "app=serving",
      service: "serving",
      nodePort: 30082,
    });
  });

  it("says the model is not deployed when nothing carries its label", async () => {
    await expect(deployedTarget(kube, { name: "absent", namespace: "default" }, "kind-sim")).rejects.toMatchObject({
      message: "The model is not deployed: no Deployment in namespace default of context kind-sim carries mlkube.dev/model=absent.",
      hint: "Deploy it with 'mlkube dev', or test a running server with --url.",
    });
  });

  it("says there is no URL when the model's Deployment has no NodePort Service", async () => {
    await applyObject(kube, deployment("lonely", "lonely") as never);
    await expect(deployedTarget(kube, { name: "lonely", namespace: "default" }, "kind-sim")).rejects.toMatchObject({
      message: "The model's Deployment default/lonely has no NodePort Service from mlkube: it has no URL to test.",
    });
  });
});
