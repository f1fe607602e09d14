import { describe, expect, it } from "vitest";
import { chooseDelivery, podImageFor, pushReferenceFor, type DeliveryInputs } from "../../src/core/delivery.js";

const announced = { host: "localhost:5001", hostFromContainerRuntime: "kind-registry:5000" };

describe("choosing how the image reaches the cluster", () => {
  it.each<[string, DeliveryInputs, string, RegExp]>([
    ["kind with an announced registry pushes", { provider: "kind", registrySetting: "auto", announced }, "registry", /announces a registry at localhost:5001/],
    ["kind without a registry loads", { provider: "kind", registrySetting: "auto", announced: undefined }, "load", /announces no registry/],
    ["registry off forces a load on kind", { provider: "kind", registrySetting: "off", announced }, "load", /cluster.registry is off/],
    [
      "minikube with docker builds in its engine",
      { provider: "minikube", registrySetting: "auto", announced: undefined, minikubeRuntime: "docker" },
      "in-cluster-engine",
      /moves nothing/,
    ],
    [
      "minikube with containerd loads",
      { provider: "minikube", registrySetting: "auto", announced: undefined, minikubeRuntime: "containerd" },
      "load",
      /loading the whole image/,
    ],
    [
      "minikube with a registry addon announced pushes",
      { provider: "minikube", registrySetting: "auto", announced: { host: "localhost:5000" }, minikubeRuntime: "docker" },
      "registry",
      /localhost:5000/,
    ],
    [
      "an explicit registry always pushes",
      { provider: "context", registrySetting: "registry.example.com/team", announced: undefined },
      "registry",
      /cluster.registry is registry.example.com\/team/,
    ],
    [
      "kind loads for the session when mlkube's registry could not start, even if one is announced",
      { provider: "kind", registrySetting: "auto", announced, localRegistryUnavailable: "port 127.0.0.1:5001 is taken by python3 (pid 7)" },
      "load",
      /the local registry could not start \(port 127\.0\.0\.1:5001 is taken by python3 \(pid 7\)\): loading the whole image into the node for this session/,
    ],
    [
      "kind loads when the nodes of an existing cluster ignore hosts.toml, even if a registry is announced",
      {
        provider: "kind",
        registrySetting: "auto",
        announced,
        nodesCannotPull: "node kind-control-plane cannot pull from the local registry: its containerd (1.x) has no registry config_path",
      },
      "load",
      /^node kind-control-plane cannot pull from the local registry: its containerd \(1\.x\) has no registry config_path: loading the whole image into the node instead \(slower\)\. For the registry path, use a cluster mlkube creates \('--provider kind'/,
    ],
    [
      "an explicit registry is pushed to whatever happened to the local one",
      { provider: "kind", registrySetting: "reg.local:5000", announced: undefined, localRegistryUnavailable: "port taken" },
      "registry",
      /cluster.registry is reg.local:5000/,
    ],
    [
      "a remote context with an announced registry pushes",
      { provider: "context", registrySetting: "auto", announced: { host: "reg.local:5000" } },
      "registry",
      /reg.local:5000/,
    ],
  ])("%s", (_name, inputs, path, reason) => {
    const decision = chooseDelivery(inputs);
    expect(decision).toMatchObject({ path });
    expect((decision as { reason: string }).reason).toMatch(reason);
  });

  it("refuses a remote context it cannot get an image into", () => {
    expect(chooseDelivery({ provider: "context", registrySetting: "auto", announced: undefined })).toMatchObject({
      error: expect.stringContaining("No way to get the image into this cluster"),
      hint: expect.stringContaining("cluster.registry"),
    });
  });

  it("says so when this user may not read the announcement, and still pushes where cluster.registry says", () => {
    expect(chooseDelivery({ provider: "context", registrySetting: "auto", announced: "forbidden" })).toMatchObject({
      error: expect.stringContaining("this user may not read the registry it may announce (ConfigMap kube-public/local-registry-hosting)"),
    });
    expect(chooseDelivery({ provider: "context", registrySetting: "localhost:5001", announced: "forbidden" })).toMatchObject({
      path: "registry",
      pushTo: "localhost:5001",
    });
  });

  it("names the image as the node's runtime sees the registry", () => {
    const decision = chooseDelivery({ provider: "kind", registrySetting: "auto", announced });
    if (!("path" in decision) || decision.path !== "registry") throw new Error("expected a registry decision");
    expect(pushReferenceFor(decision, "iris", "abc")).toBe("localhost:5001/iris:abc");
    expect(podImageFor(decision, "iris", "abc")).toBe("kind-registry:5000/iris:abc");
    expect(podImageFor({ path: "load", reason: "" }, "iris", "abc")).toBe("iris:abc");
  });
});
