import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectKube } from "../../src/adapters/kube/client.js";
import { checkRights } from "../../src/adapters/kube/rights.js";

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

interface Asked {
  verb: string;
  resource: string;
  namespace?: string;
}

/** An API server answering SelfSubjectAccessReviews by POLICY (or with STATUS for every request). */
async function apiServer(policy: ((asked: Asked) => boolean) | { status: number }, asked: Asked[] = []): Promise<ReturnType<typeof connectKube>> {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const json = (status: number, value: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if ("status" in policy || request.url !== "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
        const status = "status" in policy ? policy.status : 404;
        return json(status, { kind: "Status", apiVersion: "v1", status: "Failure", code: status, message: "the server could not find the requested resource" });
      }
      const review = JSON.parse(body) as { spec: { resourceAttributes: Asked } };
      asked.push(review.spec.resourceAttributes);
      json(201, { ...review, status: { allowed: policy(review.spec.resourceAttributes) } });
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "dev" }],
    contexts: [{ name: "team", cluster: "c", user: "dev" }],
    currentContext: "team",
  });
  return connectKube("team", config);
}

describe("rights on a shared cluster (issue 13.5)", () => {
  it("asks each right once, and says what mlkube does without the ones the user lacks", async () => {
    const asked: Asked[] = [];
    const kube = await apiServer((what) => what.resource === "pods" && what.namespace === "ml", asked);
    const check = await checkRights(kube, "ml");
    expect(asked).toEqual([
      { verb: "list", resource: "events", namespace: "ml" },
      { verb: "list", resource: "pods" },
      { verb: "list", resource: "services" },
    ]);
    expect(check.rights).toEqual({ listEvents: false, listPodsEverywhere: false, listServicesEverywhere: false });
    expect(check.notes).toEqual([
      "this user may not list events in namespace ml: a failed rollout is explained without them, or at its timeout",
      "this user may not list pods in all namespaces: old images are pruned only when no pod in namespace ml runs them",
      "this user may not list services in all namespaces: a NodePort is chosen among those namespace ml leaves free, and one another namespace holds is refused at apply",
    ]);
  });

  it("with every right, says nothing", async () => {
    expect(await checkRights(await apiServer(() => true), "ml")).toEqual({
      rights: { listEvents: true, listPodsEverywhere: true, listServicesEverywhere: true },
      notes: [],
    });
  });

  it("an API server that cannot review holds nothing back, and says it did not check", async () => {
    const check = await checkRights(await apiServer({ status: 404 }), "ml");
    expect(check.rights).toEqual({ listEvents: true, listPodsEverywhere: true, listServicesEverywhere: true });
    expect(check.notes).toEqual(["rights not checked (SelfSubjectAccessReview answered HTTP 404); a 403 later is handled where it happens"]);
  });
});
