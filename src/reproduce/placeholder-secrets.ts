/**
 * Secrets for a reproduction. Production Secrets are never copied unless asked (transform.ts
 * withholds them), yet a pod whose env or volume names a missing Secret never starts
 * (CreateContainerConfigError). So each Secret the pods need, and that neither the manifests nor
 * the local cluster provide, becomes a placeholder with the same key names and the value
 * "placeholder": the pod spec stays exactly as in production, and the report says which values
 * are fake. Values are never read, so none can be printed.
 */
import type { WithheldSecret } from "../manifests/secrets.js";
import type { Substitution } from "./substitution.js";
import { isRecord, listAt, recordAt, stringAt, type KubeObject } from "../manifests/types.js";
import { podTemplate } from "../manifests/workloads.js";

export const PLACEHOLDER_VALUE = "placeholder";

interface SecretOptions {
  namespace: string;
  labels: Record<string, string>;
  withheld: readonly WithheldSecret[];
  /**
   * Secrets that already exist on the local cluster: used as they are, never overwritten.
   * "unknown" when this user may not list them: none is made, so none can overwrite a real one.
   */
  existing: readonly string[] | "unknown";
}

/** Placeholder Secrets to add, and a row for every withheld or substituted Secret. */
export function placeholderSecrets(
  objects: readonly KubeObject[],
  options: SecretOptions,
): { objects: KubeObject[]; substitutions: Substitution[]; kept: string[] } {
  const needed = secretReferences(objects);
  const provided = new Set(objects.filter((object) => object.kind === "Secret").map((object) => object.metadata.name));
  const added: KubeObject[] = [];
  const substitutions: Substitution[] = [];
  const kept: string[] = [];

  for (const [name, keys] of needed) {
    if (provided.has(name)) continue;
    if (options.existing === "unknown") {
      kept.push(
        `Secret ${name}: not made, as this user may not list Secrets to see whether it exists; without it the pods stop with CreateContainerConfigError`,
      );
      continue;
    }
    if (options.existing.includes(name)) {
      kept.push(`Secret ${name}: the one already on the local cluster is used as it is`);
      continue;
    }
    const withheld = options.withheld.find((secret) => secret.name === name);
    const allKeys = [...new Set([...(withheld?.keys ?? []), ...keys])];
    added.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: options.namespace, labels: { ...options.labels } },
      type: "Opaque",
      stringData: Object.fromEntries(allKeys.map((key) => [key, PLACEHOLDER_VALUE])),
    });
    const why = withheld
      ? `production Secrets are not copied, --include-secrets applies them; to use real values, create it first: ${withheld.command}`
      : "the pods need it and the manifests do not define it, production creates it some other way; create the real one first to use it instead";
    substitutions.push({ object: `Secret ${name}`, setting: "", production: "", local: `placeholder${describeKeys(allKeys)}`, why });
  }
  for (const secret of options.withheld.filter((candidate) => !needed.has(candidate.name))) {
    substitutions.push({
      object: `Secret ${secret.name}`,
      setting: "",
      production: "",
      local: `not applied${describeKeys(secret.keys)}`,
      why: `no pod uses it; production Secrets are not copied, --include-secrets applies them; create it with: ${secret.command}`,
    });
  }
  return { objects: [...objects, ...added], substitutions, kept };
}

function describeKeys(keys: readonly string[]): string {
  return keys.length === 0 ? " without keys" : ` with keys ${keys.join(", ")}`;
}

/** Secret name -> the keys the pods read from it, for every Secret a pod cannot start without. */
function secretReferences(objects: readonly KubeObject[]): Map<string, Set<string>> {
  const references = new Map<string, Set<string>>();
  const need = (name: string | undefined, keys: readonly string[], optional: unknown) => {
    // An optional reference does not stop the pod from starting: no placeholder needed.
    if (name === undefined || optional === true) return;
    const set = references.get(name) ?? new Set<string>();
    for (const key of keys) set.add(key);
    references.set(name, set);
  };
  for (const object of objects) {
    const spec = recordAt(podTemplate(object), "spec");
    if (spec === undefined) continue;
    for (const container of [...listAt(spec, "containers"), ...listAt(spec, "initContainers")]) {
      for (const variable of listAt(container, "env")) {
        const ref = recordAt(recordAt(variable, "valueFrom"), "secretKeyRef");
        if (ref) need(stringAt(ref, "name"), [stringAt(ref, "key") ?? ""].filter(Boolean), ref.optional);
      }
      for (const source of listAt(container, "envFrom")) {
        const ref = recordAt(source, "secretRef");
        if (ref) need(stringAt(ref, "name"), [], ref.optional);
      }
    }
    for (const volume of listAt(spec, "volumes")) {
      const secret = recordAt(volume, "secret");
      if (secret) need(stringAt(secret, "secretName"), itemKeys(secret), secret.optional);
      for (const source of listAt(recordAt(volume, "projected"), "sources")) {
        const projected = recordAt(source, "secret");
        if (projected) need(stringAt(projected, "name"), itemKeys(projected), projected.optional);
      }
    }
  }
  return references;
}

function itemKeys(source: unknown): string[] {
  return listAt(source, "items").flatMap((item) => (isRecord(item) && typeof item.key === "string" ? [item.key] : []));
}
