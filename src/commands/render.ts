import { resolve } from "node:path";
import { displayPath } from "../config/errors.js";
import { loadConfig, parseBuildArgs } from "../config/load.js";
import { UserError } from "../errors.js";
import { modelMemory } from "../adapters/cluster/model-memory.js";
import { contentReference } from "../adapters/docker/content-tag.js";
import { planManifests } from "../manifests/plan.js";
import { renderYaml } from "../manifests/render.js";
import type { WithheldSecret } from "../manifests/secrets.js";

interface RenderCommandOptions {
  from?: string[] | undefined;
  image?: string | undefined;
  includeSecrets?: boolean | undefined;
  replicas?: string | undefined;
  buildArg?: string[] | undefined;
}

/**
 * `mlkube render [DIR]`: prints the objects `dev` would apply, as YAML on stdout, so the output
 * can be piped into `kubectl apply -f -` or diffed. Notes go to stderr as `# ` lines, so they
 * never mix into the YAML. Invalid manifests propagate as a UserError (exit 1).
 */
export async function runRenderCommand(
  dir: string,
  options: RenderCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const replicas = options.replicas === undefined ? undefined : parseReplicas(options.replicas);
  const config = await loadConfig(dir, { buildArgs: parseBuildArgs(options.buildArg ?? []) });
  // Without --image, the tag `mlkube build` would produce, computed from the build inputs alone.
  const image = options.image ?? (await contentReference(config));
  // What 'dev' chose for this directory last time: the NodePort, unless mlkube.yaml pins one, and the detected health endpoint.
  const memory = (await modelMemory().read())[config.dir];
  const remembered = config.service.pinned ? undefined : memory?.nodePort;
  const readiness = config.unwrittenProbePaths?.includes("readiness") ? memory?.readiness : undefined;
  const plan = await planManifests(config, {
    image,
    from: options.from?.map((path) => resolve(path)),
    includeSecrets: options.includeSecrets,
    replicas,
    nodePort: remembered,
    readinessPath: readiness?.path,
  });
  if (readiness) err.write(`# note: readiness: GET ${readiness.path} (${readiness.protocol}), detected by 'mlkube dev'\n`);
  if (remembered !== undefined)
    err.write(`# note: NodePort ${remembered}: this model's port in earlier 'mlkube dev' sessions (service.nodePort in mlkube.yaml fixes one)\n`);
  for (const note of plan.notes) err.write(`# note: ${note}\n`);
  for (const secret of plan.withheldSecrets) err.write(`${withheldLine(secret)}\n`);
  out.write(renderYaml(plan.objects));
  return 0;
}

function withheldLine(secret: WithheldSecret): string {
  const from = secret.file === undefined ? "" : ` (${displayPath(secret.file)}, document ${secret.document ?? 1})`;
  const keys = secret.keys.length === 0 ? "no keys" : `keys ${secret.keys.join(", ")}`;
  return `# withheld: Secret ${secret.name}${from} with ${keys} is not applied (--include-secrets applies it); create it yourself with: ${secret.command}`;
}

function parseReplicas(text: string): number {
  const replicas = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(replicas)) {
    throw new UserError("usage", `--replicas expects a whole number >= 0, got "${text}".`, { hint: "For example: mlkube render --replicas 1" });
  }
  return replicas;
}
