/** What `mlkube reproduce` says it changed for the local cluster and what it kept, as text and as JSON. */
import type { ReproducePlan } from "./plan.js";
import { describeSubstitution } from "./substitution.js";

/** What changed for the local cluster and what was kept, one line each. */
export function changesText(plan: ReproducePlan, imageKept: boolean): string {
  const kept = [
    ...(imageKept
      ? [`${plan.model.kind} ${plan.model.name}: image ${String(plan.model.container.image)} kept as written (no --model): the node must be able to pull it`]
      : []),
    ...plan.kept,
    "resources, probes, env and command of every container, except what is listed above",
  ];
  const changed = [...plan.notes, ...plan.substitutions.map(describeSubstitution)];
  return `Changed for the local cluster:\n${(changed.length === 0 ? ["nothing"] : changed).map((line) => `  ${line}`).join("\n")}\nKept as in production:\n${kept.map((line) => `  ${line}`).join("\n")}\n\n`;
}

export function jsonPlan(plan: ReproducePlan): Record<string, unknown> {
  return {
    notes: plan.notes,
    substitutions: plan.substitutions,
    kept: plan.kept,
    model: { kind: plan.model.kind, name: plan.model.name, namespace: plan.model.namespace },
  };
}
