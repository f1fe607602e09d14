import { contentReference } from "../adapters/docker/content-tag.js";
import type { ResolvedConfig } from "../config/load.js";
import { renderYaml } from "../manifests/render.js";
import { recordAt, type KubeObject } from "../manifests/types.js";
import { changesText, jsonPlan } from "./changes.js";
import { machineCapacity } from "./observe.js";
import { PLACEHOLDER_VALUE } from "./placeholder-secrets.js";
import { planReproduction } from "./plan.js";

/** `--dry-run`: the YAML that would be applied, the changes as comments above it; nothing is contacted. */
export async function dryRun(
  paths: string[],
  config: ResolvedConfig,
  options: { model?: string | undefined; json?: boolean | undefined; includeSecrets?: boolean | undefined },
  out: NodeJS.WritableStream,
): Promise<number> {
  // The tag `mlkube build` would give; delivery adds the cluster registry's host in front of it.
  const image = options.model === undefined ? undefined : await contentReference(config);
  const plan = await planReproduction(config, { files: paths, image, includeSecrets: options.includeSecrets, capacity: machineCapacity() });
  const objects = plan.objects.map(redactSecret);
  if (options.json) {
    out.write(`${JSON.stringify({ ...jsonPlan(plan), objects })}\n`);
    return 0;
  }
  const comments = changesText(plan, image === undefined)
    .trimEnd()
    .split("\n")
    .map((line) => `# ${line}`.trimEnd());
  const header = "# mlkube reproduce --dry-run: nothing was applied. Replicas are fitted to this machine; a real run asks the cluster's nodes.";
  out.write(`${header}\n${comments.join("\n")}\n${renderYaml(objects)}`);
  return 0;
}

/** Secret values are never printed, not even the ones --include-secrets applies; placeholders are not secret. */
function redactSecret(object: KubeObject): KubeObject {
  if (object.kind !== "Secret") return object;
  const redacted = structuredClone(object);
  for (const field of ["data", "stringData"]) {
    const values = recordAt(redacted, field);
    if (values) redacted[field] = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === PLACEHOLDER_VALUE ? value : "<redacted>"]));
  }
  return redacted;
}
