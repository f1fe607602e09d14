import { chooseDelivery } from "../../core/delivery.js";
import { deliverByPush } from "./push-delivery.js";
import type { ProviderChoice } from "../../core/provider-choice.js";
import { isUserError, UserError } from "../../errors.js";
import type { DockerConnection } from "../docker/client.js";
import { connectKube, ensureKubeReachable, readKubeConfig, type KubeAccess } from "../kube/client.js";
import { readAnnouncedRegistry } from "../kube/registry-hosting.js";
import { portForwardEndpoint } from "./endpoint.js";
import type { ClusterProvider, ClusterStatus, Endpoint, ReadyCluster, ServiceRef, StepReporter, UpPlan } from "./provider.js";

/** An existing cluster mlkube did not create: nothing is created or deleted, images are pushed. */
export class ContextProvider implements ClusterProvider {
  constructor(
    readonly choice: ProviderChoice,
    private readonly settings: { registrySetting: string },
    private readonly deps: { docker: DockerConnection },
  ) {}

  async plan(): Promise<UpPlan> {
    return { choice: this.choice, steps: [`use the existing context '${this.choice.context}' (mlkube creates nothing there)`] };
  }

  async ensure(report: StepReporter): Promise<ReadyCluster> {
    const kube = connectKube(this.choice.context, readKubeConfig());
    const version = await ensureKubeReachable(kube);
    report({ title: `context '${this.choice.context}'`, status: "skipped", detail: `existing cluster, Kubernetes ${version}` });
    const decision = chooseDelivery({ provider: "context", registrySetting: this.settings.registrySetting, announced: await readAnnouncedRegistry(kube) });
    if ("error" in decision) throw new UserError("delivery", decision.error, { hint: decision.hint });
    if (decision.path !== "registry")
      throw new UserError("delivery", `Cannot ${decision.path} images into an existing context.`, { hint: "Set cluster.registry in mlkube.yaml." });
    const server = kube.config.getCurrentCluster()?.server ?? "";
    if (isLoopback(hostOf(decision.pullAs)) && !isLoopback(hostOf(server.replace(/^https?:\/\//, "")))) {
      throw new UserError("delivery", `The cluster at ${server} cannot pull from ${decision.pullAs}: that address means the node itself, not this machine.`, {
        hint: "Set cluster.registry to a registry the cluster's nodes can reach (e.g. registry.example.com/team).",
      });
    }
    return {
      choice: this.choice,
      kube,
      delivery: decision,
      buildEngine: this.deps.docker,
      mappedNodePorts: [],
      deliver: async (image, options = {}) => {
        return deliverByPush(this.deps.docker.client, decision, image, options);
      },
      endpoint: (service) => this.endpoint(kube, service),
    };
  }

  /** A port-forward: an existing cluster's NodePorts are not known to be reachable. Re-established after each rollout through Endpoint.refresh(). */
  async endpoint(kube: KubeAccess, service: ServiceRef): Promise<Endpoint> {
    return portForwardEndpoint(kube, service);
  }

  async status(): Promise<ClusterStatus> {
    // The context is all mlkube knows of this cluster: when it does not answer, say why (the
    // API client names the server and the failure) rather than report it as stopped.
    const kube = connectKube(this.choice.context, readKubeConfig());
    const nodes = await kube.core.listNode().then(
      (list) => list.items.map((node) => node.metadata?.name ?? "?"),
      (error: unknown) => {
        if (isUserError(error)) throw error;
        return []; // it answered, but would not list nodes (RBAC)
      },
    );
    return { choice: this.choice, exists: true, running: nodes.length > 0, nodes, mappedNodePorts: [] };
  }

  async remove(_options: { registry: boolean }, report: StepReporter): Promise<void> {
    report({ title: `context '${this.choice.context}'`, status: "skipped", detail: "not created by mlkube; left alone" });
  }
}

function hostOf(address: string): string {
  return address.split("/")[0]?.replace(/:\d+$/, "") ?? address;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host.startsWith("127.") || host === "[::1]";
}
