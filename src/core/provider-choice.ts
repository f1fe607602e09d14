/**
 * Which cluster mlkube works with, decided from what is configured and what the machine has, by
 * the rules peers use (Skaffold, Tilt): a `kind-` context is kind, a minikube profile is minikube,
 * anything else is an existing context. Unlike peers, auto-detection never picks a non-local
 * context: a dev loop must not deploy to production because that was the current context.
 */
/** What `doctor --fix` does (adapters/doctor/fixes.ts): the pinned kind, for Linux and macOS on amd64/arm64, into mlkube's tool directory, where selectProvider finds it. */
export const INSTALL_KIND_HINT =
  "Run 'mlkube doctor --fix': it installs the kind release mlkube pins (checksum verified) into ~/.mlkube/bin, where mlkube finds it without a change to your PATH (Linux and macOS, amd64/arm64). Or install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) or minikube yourself";

export type ProviderKind = "kind" | "minikube" | "context";

export interface ProviderInputs {
  /** From mlkube.yaml: provider (auto means detect), local cluster name, context. */
  configured: { provider: "auto" | ProviderKind; clusterName: string; context?: string | undefined };
  /** From --provider / --context; these win over the file. */
  flags: { provider?: ProviderKind | undefined; context?: string | undefined };
  currentContext: string | undefined;
  /** Names of minikube profiles (`minikube profile list`); empty without minikube. */
  minikubeProfiles: readonly string[];
  installed: { kind: boolean; minikube: boolean };
}

export interface ProviderChoice {
  kind: ProviderKind;
  /** kind cluster name or minikube profile; for an existing context, the context name. */
  clusterName: string;
  context: string;
  /** Why, in words shown to the user. */
  reason: string;
}

export type ProviderDecision = ProviderChoice | { error: string; hint: string; /** Set when installing kind would make kind the choice. */ wantsKind?: true };

const KIND_PREFIX = "kind-";

export function chooseProvider(inputs: ProviderInputs): ProviderDecision {
  const explicitProvider = inputs.flags.provider ?? (inputs.configured.provider === "auto" ? undefined : inputs.configured.provider);
  const explicitContext = inputs.flags.context ?? inputs.configured.context;
  const source = inputs.flags.provider ? "--provider" : "mlkube.yaml cluster.provider";
  const contextSource = inputs.flags.context ? "--context" : "mlkube.yaml cluster.context";

  if (explicitProvider === "kind") {
    const name = explicitContext?.startsWith(KIND_PREFIX) ? explicitContext.slice(KIND_PREFIX.length) : inputs.configured.clusterName;
    return kind(name, `${source} is kind`);
  }
  if (explicitProvider === "minikube") {
    const profile = explicitContext ?? inputs.configured.clusterName;
    return minikube(profile, `${source} is minikube`);
  }
  if (explicitProvider === "context") {
    const context = explicitContext ?? inputs.currentContext;
    if (!context)
      return {
        error: "cluster.provider is 'context' but no context was named and the kubeconfig has no current context.",
        hint: "Pass --context NAME (see 'kubectl config get-contexts') or set cluster.context in mlkube.yaml.",
      };
    return {
      kind: "context",
      clusterName: context,
      context,
      reason: `${source} is context; using ${explicitContext ? contextSource : "the current context"} '${context}'`,
    };
  }

  if (explicitContext) return classifyContext(explicitContext, inputs, `${contextSource} names`);
  const current = inputs.currentContext;
  if (current && isLocal(current, inputs)) return classifyContext(current, inputs, "the current kube context is");

  const notLocal = current
    ? `; the current context '${current}' is not a local cluster, so mlkube leaves it alone (use --provider context --context ${current} to deploy there)`
    : "";
  if (inputs.installed.kind) return kind(inputs.configured.clusterName, `kind is installed${notLocal}`);
  if (inputs.installed.minikube) return minikube(inputs.configured.clusterName, `minikube is installed and kind is not${notLocal}`);
  return {
    error: "No local cluster to use: neither kind nor minikube is installed, and the current kube context is not a local cluster.",
    hint: `${INSTALL_KIND_HINT}, or deploy to an existing cluster with --provider context --context NAME.`,
    wantsKind: true,
  };
}

function isLocal(context: string, inputs: ProviderInputs): boolean {
  return context.startsWith(KIND_PREFIX) || inputs.minikubeProfiles.includes(context);
}

function classifyContext(context: string, inputs: ProviderInputs, why: string): ProviderChoice {
  if (context.startsWith(KIND_PREFIX)) return kind(context.slice(KIND_PREFIX.length), `${why} '${context}', a kind cluster`);
  if (inputs.minikubeProfiles.includes(context)) return minikube(context, `${why} '${context}', a minikube profile`);
  return { kind: "context", clusterName: context, context, reason: `${why} '${context}', an existing cluster` };
}

function kind(name: string, reason: string): ProviderChoice {
  return { kind: "kind", clusterName: name, context: `${KIND_PREFIX}${name}`, reason };
}

function minikube(profile: string, reason: string): ProviderChoice {
  return { kind: "minikube", clusterName: profile, context: profile, reason };
}
