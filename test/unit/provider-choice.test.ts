import { describe, expect, it } from "vitest";
import { chooseProvider, type ProviderInputs } from "../../src/core/provider-choice.js";

const base: ProviderInputs = {
  configured: { provider: "auto", clusterName: "mlkube" },
  flags: {},
  currentContext: undefined,
  minikubeProfiles: [],
  installed: { kind: true, minikube: true },
};
const withInputs = (changes: Partial<ProviderInputs>): ProviderInputs => ({ ...base, ...changes });

describe("choosing the cluster provider", () => {
  it.each<[string, ProviderInputs, string, string, string, RegExp]>([
    ["a kind current context", withInputs({ currentContext: "kind-dev" }), "kind", "dev", "kind-dev", /current kube context is 'kind-dev', a kind cluster/],
    [
      "a minikube current context",
      withInputs({ currentContext: "minikube", minikubeProfiles: ["minikube"] }),
      "minikube",
      "minikube",
      "minikube",
      /a minikube profile/,
    ],
    [
      "a remote current context is never picked automatically",
      withInputs({ currentContext: "prod-eks" }),
      "kind",
      "mlkube",
      "kind-mlkube",
      /'prod-eks' is not a local cluster.*--provider context --context prod-eks/,
    ],
    [
      "only minikube installed",
      withInputs({ installed: { kind: false, minikube: true } }),
      "minikube",
      "mlkube",
      "mlkube",
      /minikube is installed and kind is not/,
    ],
    [
      "--provider kind wins over a minikube context",
      withInputs({ flags: { provider: "kind" }, currentContext: "minikube", minikubeProfiles: ["minikube"] }),
      "kind",
      "mlkube",
      "kind-mlkube",
      /--provider is kind/,
    ],
    ["--provider kind with --context kind-x", withInputs({ flags: { provider: "kind", context: "kind-x" } }), "kind", "x", "kind-x", /--provider is kind/],
    [
      "config provider minikube",
      withInputs({ configured: { provider: "minikube", clusterName: "ml" } }),
      "minikube",
      "ml",
      "ml",
      /mlkube.yaml cluster.provider is minikube/,
    ],
    [
      "--context of a remote cluster",
      withInputs({ flags: { context: "staging" } }),
      "context",
      "staging",
      "staging",
      /--context names 'staging', an existing cluster/,
    ],
    [
      "config context of a kind cluster",
      withInputs({ configured: { provider: "auto", clusterName: "mlkube", context: "kind-team" } }),
      "kind",
      "team",
      "kind-team",
      /mlkube.yaml cluster.context names 'kind-team'/,
    ],
    [
      "provider context uses the current context",
      withInputs({ flags: { provider: "context" }, currentContext: "gke_prod" }),
      "context",
      "gke_prod",
      "gke_prod",
      /the current context 'gke_prod'/,
    ],
    [
      "--context beats the config context",
      withInputs({ flags: { context: "kind-a" }, configured: { provider: "auto", clusterName: "mlkube", context: "kind-b" } }),
      "kind",
      "a",
      "kind-a",
      /--context/,
    ],
  ])("%s", (_name, inputs, kind, clusterName, context, reason) => {
    const choice = chooseProvider(inputs);
    expect(choice).toMatchObject({ kind, clusterName, context });
    expect((choice as { reason: string }).reason).toMatch(reason);
  });

  it("explains what to install when there is nothing to use", () => {
    expect(chooseProvider(withInputs({ installed: { kind: false, minikube: false }, currentContext: "prod" }))).toEqual({
      error: expect.stringContaining("neither kind nor minikube is installed"),
      hint: expect.stringMatching(
        /^Run 'mlkube doctor --fix': it installs the kind release mlkube pins \(checksum verified\) into ~\/\.mlkube\/bin, .* Or install kind \(https:\/\/kind\.sigs\.k8s\.io\/.*\) or minikube yourself/,
      ),
      wantsKind: true,
    });
  });

  it("asks for a context when provider is context and none is known", () => {
    expect(chooseProvider(withInputs({ flags: { provider: "context" } }))).toMatchObject({ hint: expect.stringContaining("--context NAME") });
  });
});
