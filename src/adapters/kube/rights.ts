/**
 * What the user may do on a shared cluster (`--provider context`), asked once at start with
 * SelfSubjectAccessReview (what `kubectl auth can-i` asks; every authenticated user may ask it,
 * through the system:basic-user role). Each right mlkube's loop reads with has a way to do without,
 * said in one line, so a 403 never ends the loop or gets asked again and again.
 */
import { AuthorizationV1Api } from "@kubernetes/client-node";
import type { KubeAccess } from "./client.js";

export interface Rights {
  /** The pods' events: the evidence of a failed rollout. */
  listEvents: boolean;
  /** Pods in every namespace: which images run anywhere, so the pruner keeps them. */
  listPodsEverywhere: boolean;
  /** Services in every namespace: which NodePorts are taken (the API server allocates them cluster-wide). */
  listServicesEverywhere: boolean;
}

interface RightsCheck {
  rights: Rights;
  /** One line per right the user lacks, with what mlkube does instead; or why nothing was checked. */
  notes: string[];
}

interface Need {
  right: keyof Rights;
  verb: string;
  resource: string;
  /** Asked in the model's namespace; otherwise cluster-wide. */
  namespaced: boolean;
  instead: (namespace: string) => string;
}

const NEEDS: Need[] = [
  {
    right: "listEvents",
    verb: "list",
    resource: "events",
    namespaced: true,
    instead: (namespace) => `may not list events in namespace ${namespace}: a failed rollout is explained without them, or at its timeout`,
  },
  {
    right: "listPodsEverywhere",
    verb: "list",
    resource: "pods",
    namespaced: false,
    instead: (namespace) => `may not list pods in all namespaces: old images are pruned only when no pod in namespace ${namespace} runs them`,
  },
  {
    right: "listServicesEverywhere",
    verb: "list",
    resource: "services",
    namespaced: false,
    instead: (namespace) =>
      `may not list services in all namespaces: a NodePort is chosen among those namespace ${namespace} leaves free, and one another namespace holds is refused at apply`,
  },
];

const ALL_ALLOWED: Rights = { listEvents: true, listPodsEverywhere: true, listServicesEverywhere: true };

export async function checkRights(kube: KubeAccess, namespace: string): Promise<RightsCheck> {
  const api = kube.config.makeApiClient(AuthorizationV1Api);
  const rights: Rights = { ...ALL_ALLOWED };
  const notes: string[] = [];
  for (const need of NEEDS) {
    let allowed: boolean;
    try {
      const review = await api.createSelfSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { verb: need.verb, resource: need.resource, ...(need.namespaced ? { namespace } : {}) } },
        },
      });
      allowed = review.status?.allowed === true;
    } catch (error) {
      // An API server without the review (or that refuses it): nothing is known, so nothing is held back.
      const status = (error as { code?: unknown }).code;
      const why =
        typeof status === "number"
          ? `SelfSubjectAccessReview answered HTTP ${status}`
          : `SelfSubjectAccessReview failed: ${(error as Error).message.split("\n")[0]}`;
      return { rights: { ...ALL_ALLOWED }, notes: [`rights not checked (${why}); a 403 later is handled where it happens`] };
    }
    if (!allowed) {
      rights[need.right] = false;
      notes.push(`this user ${need.instead(namespace)}`);
    }
  }
  return { rights, notes };
}
