/**
 * Which Deployment and Service run the model: read from the objects about to be applied (`dev`),
 * or from what mlkube applied earlier (`test`). Rollouts, the URL and the smoke tests act on it.
 */
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import type { KubeAccess } from "../adapters/kube/client.js";
import type { ResolvedConfig } from "../config/load.js";
import type { DeployTarget } from "../core/deploy-target.js";
import { UserError } from "../errors.js";
import { PRUNE_LABEL, labelSelector } from "../manifests/labels.js";
import type { KubeObject } from "../manifests/types.js";

interface Named {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
}

/** The rendered objects' model Deployment (the generated one, or the user's manifest that holds the model) and the Service on NODEPORT. */
export function targetOf(objects: readonly KubeObject[], config: Pick<ResolvedConfig, "name" | "namespace">, nodePort: number): DeployTarget {
  const deployment = modelDeployment(objects.filter((object) => object.kind === "Deployment") as V1Deployment[], config.name);
  if (!deployment?.metadata?.name)
    throw new UserError("config", "The rendered objects contain no Deployment to roll out.", {
      hint: "Add a Deployment to your manifests, or remove 'manifests:' to let mlkube generate one.",
    });
  const service = serviceOnPort(objects.filter((object) => object.kind === "Service") as V1Service[], nodePort);
  return {
    namespace: deployment.metadata.namespace ?? config.namespace,
    deployment: deployment.metadata.name,
    selector: labelSelector(deployment.spec?.selector.matchLabels ?? {}),
    service: service?.metadata?.name,
    nodePort,
  };
}

/**
 * Where the model runs now, as mlkube applied it: the Deployment and the NodePort Service that
 * carry the model's label in its namespace. Nothing is rendered: the NodePort was chosen at apply.
 */
export async function deployedTarget(kube: KubeAccess, config: Pick<ResolvedConfig, "name" | "namespace">, context: string): Promise<DeployTarget> {
  const { namespace } = config;
  const labelled = { namespace, labelSelector: labelSelector({ [PRUNE_LABEL]: config.name }) };
  const [deployments, services] = await Promise.all([kube.apps.listNamespacedDeployment(labelled), kube.core.listNamespacedService(labelled)]);
  const deployment = modelDeployment(deployments.items, config.name);
  const hint = "Deploy it with 'mlkube dev', or test a running server with --url.";
  if (!deployment?.metadata?.name)
    throw new UserError(
      "cluster",
      `The model is not deployed: no Deployment in namespace ${namespace} of context ${context} carries ${PRUNE_LABEL}=${config.name}.`,
      {
        hint,
      },
    );
  const withNodePort = services.items.filter((service) => nodePortOf(service) !== undefined);
  const service = withNodePort.find((candidate) => candidate.metadata?.name === deployment.metadata?.name) ?? withNodePort[0];
  const nodePort = service && nodePortOf(service);
  if (!service?.metadata?.name || nodePort === undefined)
    throw new UserError(
      "cluster",
      `The model's Deployment ${namespace}/${deployment.metadata.name} has no NodePort Service from mlkube: it has no URL to test.`,
      {
        hint,
      },
    );
  return {
    namespace,
    deployment: deployment.metadata.name,
    selector: labelSelector(deployment.spec?.selector.matchLabels ?? {}),
    service: service.metadata.name,
    nodePort,
  };
}

function modelDeployment<T extends Named>(deployments: readonly T[], name: string): T | undefined {
  return deployments.find((deployment) => deployment.metadata?.name === name) ?? deployments[0];
}

/** The Service on the model's NodePort (generated, or the user's LoadBalancer turned NodePort), else the first. */
function serviceOnPort(services: readonly V1Service[], nodePort: number): V1Service | undefined {
  return services.find((service) => (service.spec?.ports ?? []).some((port) => port.nodePort === nodePort)) ?? services[0];
}

function nodePortOf(service: V1Service): number | undefined {
  return service.spec?.ports?.find((port) => port.nodePort)?.nodePort;
}
