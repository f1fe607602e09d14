/**
 * A pod that restarts or is replaced starts again from the image, without the files live update
 * copied into the one before: it would serve the old version quietly. Comparing the model's pods
 * with those the last sync reached tells when that happened, and which pod.
 */

/** A pod as the sync reached it, or as it runs now. */
export interface PodRun {
  name: string;
  /** Restarts of its model container (a restarted container starts from the image again). */
  restarts: number;
}

/** Why the pods no longer all run the synced files, or undefined while they do. */
export function driftReason(synced: readonly PodRun[], running: readonly PodRun[], ahead: readonly string[]): string | undefined {
  if (ahead.length === 0 || synced.length === 0) return undefined;
  const files = ahead.length === 1 ? ahead[0] : `${ahead.length} synced files`;
  for (const pod of running) {
    const before = synced.find((entry) => entry.name === pod.name);
    if (!before) return `pod ${pod.name} started from the image, without ${files}`;
    if (pod.restarts > before.restarts) return `pod ${pod.name} restarted from the image, without ${files}`;
  }
  return undefined;
}
