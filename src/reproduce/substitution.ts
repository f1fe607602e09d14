/** One row of what `mlkube reproduce` changed in the production manifests, and why. */
export interface Substitution {
  /** `Deployment iris-sklearn`. */
  object: string;
  /** The setting that changed (`replicas`, `volume data`); empty when the whole object is concerned. */
  setting: string;
  /** Production's value as written; empty for something added. */
  production: string;
  /** What runs locally instead. */
  local: string;
  why: string;
}

/** `Deployment iris: replicas 3 -> 2 (why)`, `PersistentVolumeClaim data: not applied (why)`. */
export function describeSubstitution(row: Substitution): string {
  if (row.setting === "") return `${row.object}: ${row.local} (${row.why})`;
  const production = row.production === "" ? "" : ` ${row.production}`;
  return `${row.object}: ${row.setting}${production} -> ${row.local} (${row.why})`;
}
