/**
 * The labels mlkube puts on everything it applies. The pruner deletes objects that carry
 * PRUNE_LABEL for this model but are no longer rendered, so nothing without it is ever touched.
 */
const NAME_LABEL = "app.kubernetes.io/name";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "mlkube";
export const PRUNE_LABEL = "mlkube.dev/model";

/** Labels on every object mlkube applies for model `name`. */
export function managedLabels(name: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [PRUNE_LABEL]: name };
}

/**
 * Labels that select the generated Deployment's pods (and so the Service's endpoints). Never
 * change these: a Deployment's selector is immutable, so a change would force a delete.
 */
export function podSelector(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PRUNE_LABEL]: name };
}

/** Labels as a label selector, the form the API's list and watch queries take: `key=value,key=value`. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}
