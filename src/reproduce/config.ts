/**
 * Without --model there is no model directory, so no mlkube.yaml: the configuration is the
 * defaults, named after the manifests' first workload (it labels what is applied and finds the
 * model's container by image name) and listening on that workload's first container port.
 */
import { resolve } from "node:path";
import type { ResolvedConfig } from "../config/load.js";
import { configSchema } from "../config/schema.js";
import { UserError } from "../errors.js";
import { isRecord, listAt, stringAt } from "../manifests/types.js";
import { containersOf } from "../manifests/workloads.js";

/** Used when the model's container declares no port either; only matters for the Service mlkube may add. */
const FALLBACK_PORT = 8080;

export function configForManifests(values: readonly unknown[], dir: string): ResolvedConfig {
  const workload = values.filter(isRecord).find((value) => containersOf(value).length > 0);
  const name = workload === undefined ? undefined : stringAt(workload.metadata, "name");
  if (workload === undefined || name === undefined) {
    throw new UserError("manifest", "None of the manifests runs a container (a Deployment, StatefulSet, Pod, ...), so there is no model to reproduce.", {
      hint: "Pass the files or directories that hold the model's Deployment.",
    });
  }
  const port = containersOf(workload)
    .flatMap(({ container }) => listAt(container, "ports"))
    .map((port) => (isRecord(port) ? port.containerPort : undefined))
    .find((value): value is number => typeof value === "number");
  const defaults = configSchema.parse({});
  return {
    ...defaults,
    dir,
    configFile: null,
    name,
    port: port ?? FALLBACK_PORT,
    image: { repository: name },
    build: { ...defaults.build, context: dir, dockerfile: resolve(dir, defaults.build.dockerfile), args: {} },
    sync: { mode: "infer" },
    manifests: [],
    tests: [],
    requests: undefined,
  };
}
