import type { KubernetesObject } from "@kubernetes/client-node";
import { UserError } from "../../errors.js";
import { labelSelector } from "../../manifests/labels.js";
import { applyObject, isForbidden, isNotFound, statusMessage, type KubeAccess } from "./client.js";

/** The kinds mlkube applies for a model and so may prune; nothing of another kind is ever deleted. */
const PRUNABLE_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "ServiceAccount" },
];

interface ApplyResult {
  applied: string[];
  pruned: string[];
}

/**
 * Server-side applies every object with field manager `mlkube` (creating namespaces that are
 * missing), then deletes objects that carry this model's prune label but were not rendered this
 * time. Objects without the label, or of other models, are never touched.
 */
export async function applyWithPrune(kube: KubeAccess, objects: readonly KubernetesObject[], prune: { label: string; model: string }): Promise<ApplyResult> {
  const namespaces = [...new Set(objects.map((object) => object.metadata?.namespace ?? "default"))];
  for (const namespace of namespaces) await ensureNamespace(kube, namespace);

  const applied: string[] = [];
  for (const object of objects) {
    try {
      await applyObject(kube, object);
    } catch (cause) {
      throw new UserError("cluster", `The cluster rejected ${describe(object)}: ${statusMessage(cause)}`, {
        hint: "Check the object with 'mlkube render'; the message above is the API server's.",
        cause,
      });
    }
    applied.push(describe(object));
  }

  const wanted = new Set(applied);
  const pruned: string[] = [];
  for (const namespace of namespaces) {
    for (const { apiVersion, kind } of PRUNABLE_KINDS) {
      for (const item of await labelled(kube, apiVersion, kind, namespace, labelSelector({ [prune.label]: prune.model }))) {
        const object = { ...item, apiVersion, kind };
        if (wanted.has(describe(object))) continue;
        await kube.objects.delete(object, undefined, undefined, undefined, undefined, "Background").catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        pruned.push(describe(object));
      }
    }
  }
  return { applied, pruned };
}

/** Objects of one kind with the label; none when the cluster does not serve that kind at all. */
async function labelled(kube: KubeAccess, apiVersion: string, kind: string, namespace: string, selector: string): Promise<KubernetesObject[]> {
  try {
    return (await kube.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector)).items;
  } catch (error) {
    // client-node resolves kinds through discovery: a kind the server lacks cannot hold our objects.
    if (/Unrecognized API version and kind/.test((error as Error).message) || isNotFound(error)) return [];
    // A kind this user may not list (a Role on a shared cluster): nothing of it is pruned, and an
    // apply of that kind would be refused with its own 403.
    if (isForbidden(error)) return [];
    throw error;
  }
}

async function ensureNamespace(kube: KubeAccess, name: string): Promise<void> {
  try {
    await kube.core.readNamespace({ name });
  } catch (error) {
    // A user who may not read Namespace objects (a Role without `namespaces`) works in one an admin
    // made; if it is missing after all, the apply that follows says so.
    if (isForbidden(error)) return;
    if (!isNotFound(error)) throw error;
    await kube.core.createNamespace({ body: { metadata: { name } } });
  }
}

function describe(object: KubernetesObject): string {
  return `${object.kind}/${object.metadata?.namespace ?? "default"}/${object.metadata?.name}`;
}

/** `dev --cleanup`: removes every object mlkube applied for the model, and nothing else. */
export async function deleteModelObjects(kube: KubeAccess, namespace: string, prune: { label: string; model: string }): Promise<string[]> {
  const deleted: string[] = [];
  for (const { apiVersion, kind } of PRUNABLE_KINDS) {
    for (const item of await labelled(kube, apiVersion, kind, namespace, labelSelector({ [prune.label]: prune.model }))) {
      const object = { ...item, apiVersion, kind };
      await kube.objects.delete(object, undefined, undefined, undefined, undefined, "Background").catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
      deleted.push(describe(object));
    }
  }
  return deleted;
}
