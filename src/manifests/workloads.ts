/** Where each workload kind keeps its pod template, so containers can be found in any of them. */
import { isRecord, listAt, recordAt, type JsonRecord } from "./types.js";

/** Path from the object to its pod template (metadata + spec), for kinds that have one. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
  // A bare Pod is its own template.
  Pod: [],
};

/** Kinds whose spec.selector must match their pod template's labels. */
export const SELECTOR_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

export function templatePath(kind: string): readonly string[] | undefined {
  return TEMPLATE_PATHS[kind];
}

export function podTemplate(object: JsonRecord): JsonRecord | undefined {
  const path = templatePath(String(object.kind));
  if (path === undefined) return undefined;
  let node: unknown = object;
  for (const key of path) node = recordAt(node, key);
  return isRecord(node) ? node : undefined;
}

export interface ContainerRef {
  /** The container itself; edits to it change the object. */
  container: JsonRecord;
  /** Path from the object to the container, e.g. spec.template.spec.containers[0]. */
  path: (string | number)[];
}

/** The app containers of a workload (init containers run to completion and are not the model). */
export function containersOf(object: JsonRecord): ContainerRef[] {
  const path = templatePath(String(object.kind));
  const template = podTemplate(object);
  if (path === undefined || template === undefined) return [];
  return listAt(recordAt(template, "spec"), "containers").flatMap((container, index) =>
    isRecord(container) ? [{ container, path: [...path, "spec", "containers", index] }] : [],
  );
}
