/**
 * Exactly what `mlkube dev` applies for a model, and what `mlkube render` prints: the user's own
 * manifests, transformed for the local cluster, or generated ones when there are none. Every
 * object is validated twice: as written (so errors point into the user's files) and as rendered
 * (so nothing mlkube changed or generated reaches the cluster unchecked).
 */
import type { ResolvedConfig } from "../config/load.js";
import { generateObjects, securityNote } from "./generate.js";
import { loadManifests } from "./load.js";
import type { WithheldSecret } from "./secrets.js";
import { transformManifests } from "./transform.js";
import type { KubeObject } from "./types.js";
import { assertNoProblems, validateManifests } from "./validate.js";

interface PlanOptions {
  /** The image reference the model runs, content-tagged. */
  image: string;
  /** Manifest files or directories. Default: config.manifests; none means generated objects. */
  from?: readonly string[] | undefined;
  includeSecrets?: boolean | undefined;
  replicas?: number | undefined;
  /** The image's numeric USER, when the caller inspected the image (see generate.ts). */
  runAsUser?: number | undefined;
  /** Repository of the production image, to find the model's container in user manifests. */
  productionRepository?: string | undefined;
  /** The model Service's NodePort. Default: config.service.nodePort. */
  nodePort?: number | undefined;
  /** A detected health endpoint for the generated readiness probe (see generate.ts). */
  readinessPath?: string | undefined;
}

interface ManifestPlan {
  objects: KubeObject[];
  notes: string[];
  withheldSecrets: WithheldSecret[];
}

export async function planManifests(config: ResolvedConfig, options: PlanOptions): Promise<ManifestPlan> {
  const paths = options.from ?? config.manifests;
  const plan = paths.length === 0 ? generatedPlan(config, options) : await userPlan(config, options, paths);
  const rendered = await validateManifests(plan.objects.map((value) => ({ value, describedAs: paths.length === 0 ? "generated" : "rendered" })));
  assertNoProblems(rendered.problems);
  return plan;
}

function generatedPlan(config: ResolvedConfig, options: PlanOptions): ManifestPlan {
  const { deployment, service } = generateObjects(config, {
    image: options.image,
    replicas: options.replicas,
    runAsUser: options.runAsUser,
    nodePort: options.nodePort,
    readinessPath: options.readinessPath,
  });
  const security = securityNote(options.runAsUser);
  return { objects: [deployment, service], notes: security === undefined ? [] : [`Deployment ${config.name}: ${security}`], withheldSecrets: [] };
}

async function userPlan(config: ResolvedConfig, options: PlanOptions, paths: readonly string[]): Promise<ManifestPlan> {
  const documents = await loadManifests(paths);
  const written = await validateManifests(documents);
  assertNoProblems(written.problems);
  const result = transformManifests(
    // Validation guarantees every document is an object with an apiVersion, a kind and a name.
    documents.map((document) => ({ object: document.value as KubeObject, origin: { file: document.file, document: document.document } })),
    config,
    {
      image: options.image,
      includeSecrets: options.includeSecrets,
      replicas: options.replicas,
      productionRepository: options.productionRepository,
      nodePort: options.nodePort,
    },
  );
  return { ...result, notes: [...written.notes, ...result.notes] };
}
