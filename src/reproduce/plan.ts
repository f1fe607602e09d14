/**
 * What `mlkube reproduce` applies: production manifests as transform.ts makes every user manifest
 * fit a local cluster (the image, Services, Secrets withheld, labels), then with the parts only
 * production has substituted (cloud.ts), placeholders for the Secrets the pods need
 * (placeholder-secrets.ts) and replicas scaled to what fits (replicas.ts). Validated as
 * written and as rendered, like every plan.
 */
import type { ResolvedConfig } from "../config/load.js";
import type { ModelSettings } from "./findings.js";
import { UserError } from "../errors.js";
import { managedLabels } from "../manifests/labels.js";
import { loadManifests } from "../manifests/load.js";
import { findModelContainers } from "../manifests/model-container.js";
import { withoutCloudOnlyParts } from "./cloud.js";
import { parseQuantity } from "./quantity.js";
import { fitReplicas, type LocalCapacity } from "./replicas.js";
import { placeholderSecrets } from "./placeholder-secrets.js";
import type { Substitution } from "./substitution.js";
import { transformManifests } from "../manifests/transform.js";
import { describeObject, isRecord, listAt, recordAt, stringAt, type JsonRecord, type KubeObject } from "../manifests/types.js";
import { assertNoProblems, validateManifests } from "../manifests/validate.js";

interface ReproduceOptions {
  /** Manifest files or directories (absolute). */
  files: readonly string[];
  /** The image built from --model; undefined keeps the model's image as written. */
  image?: string | undefined;
  includeSecrets?: boolean | undefined;
  capacity: LocalCapacity;
  /** Secrets already on the local cluster (never replaced by placeholders). */
  /** "unknown": this user may not list them, so every Secret the pods need is taken as existing. */
  existingSecrets?: readonly string[] | "unknown" | undefined;
}

/** The model's workload and container, as they will run: what the report judges the run against. */
interface ModelTarget {
  kind: string;
  name: string;
  namespace: string;
  container: JsonRecord;
  /** The Service that exposes the model on the pinned nodePort, if the objects have one. */
  service: string | undefined;
  /** The labels that select the model's pods (spec.selector.matchLabels). */
  selector: Record<string, string>;
}

export interface ReproducePlan {
  objects: KubeObject[];
  /** transform.ts's notes (image, Service, namespace, ...), one line each. */
  notes: string[];
  substitutions: Substitution[];
  /** Production values kept after a decision, said out loud (replicas that all fit, ...). */
  kept: string[];
  model: ModelTarget;
}

export async function planReproduction(config: ResolvedConfig, options: ReproduceOptions): Promise<ReproducePlan> {
  const documents = await loadManifests(options.files);
  const written = await validateManifests(documents);
  assertNoProblems(written.problems);
  const transformed = transformManifests(
    // Validation guarantees every document is an object with an apiVersion, a kind and a name.
    documents.map((document) => ({ object: document.value as KubeObject, origin: { file: document.file, document: document.document } })),
    config,
    { image: options.image, includeSecrets: options.includeSecrets },
  );
  const cloud = withoutCloudOnlyParts(transformed.objects);
  const secrets = placeholderSecrets(cloud.objects, {
    namespace: config.namespace,
    labels: managedLabels(config.name),
    withheld: transformed.withheldSecrets,
    existing: options.existingSecrets ?? [],
  });
  const replicas = fitReplicas(secrets.objects, options.capacity);
  const objects = secrets.objects;
  const rendered = await validateManifests(objects.map((value) => ({ value, describedAs: "rendered" })));
  assertNoProblems(rendered.problems);
  // Notes on objects that are not applied would only repeat the row that says so. (Validation's own
  // notes are all about custom resources, which are never applied here.)
  const dropped = cloud.substitutions.filter((row) => row.setting === "").map((row) => `${row.object}:`);
  return {
    objects,
    notes: transformed.notes.filter((note) => !dropped.some((prefix) => note.startsWith(prefix))),
    substitutions: [...cloud.substitutions, ...secrets.substitutions, ...replicas.substitutions],
    kept: [...secrets.kept, ...replicas.kept],
    model: modelTarget(objects, config),
  };
}

function modelTarget(objects: readonly KubeObject[], config: ResolvedConfig): ModelTarget {
  const [model] = findModelContainers(
    objects.map((object) => ({ object, origin: {} })),
    config,
  );
  if (!model) throw new UserError("manifest", "None of the manifests runs the model's container.");
  const onNodePort = (port: unknown) => isRecord(port) && port.nodePort === config.service.nodePort;
  const nodePortService = objects.find((object) => object.kind === "Service" && listAt(recordAt(object, "spec"), "ports").some(onNodePort));
  return {
    kind: model.object.kind,
    name: model.object.metadata.name ?? describeObject(model.object),
    namespace: model.object.metadata.namespace ?? config.namespace,
    container: model.container,
    service: nodePortService?.metadata.name,
    selector: Object.fromEntries(
      Object.entries(recordAt(recordAt(model.object.spec, "selector"), "matchLabels") ?? {}).map(([key, value]) => [key, String(value)]),
    ),
  };
}

/** The model container's production settings the findings are about, with Kubernetes' defaults filled in. */
export function modelSettings(target: ModelTarget): ModelSettings {
  const { container } = target;
  const limits = recordAt(recordAt(container, "resources"), "limits");
  const probe = recordAt(container, "readinessProbe");
  const seconds = (field: string, byDefault: number): number => {
    const value = probe?.[field];
    return typeof value === "number" ? value : byDefault;
  };
  const cpu = limits?.cpu;
  return {
    container: String(container.name),
    memoryLimit: limits?.memory === undefined ? undefined : String(limits.memory),
    cpuLimit: parseQuantity(cpu),
    cpuLimitText: cpu === undefined ? undefined : String(cpu),
    readiness: probe && {
      initialDelaySeconds: seconds("initialDelaySeconds", 0),
      periodSeconds: seconds("periodSeconds", 10),
      failureThreshold: seconds("failureThreshold", 3),
    },
  };
}

/** Where the model answers once ready: its HTTP readiness probe's path, or the root. */
export function readinessPath(target: ModelTarget): string {
  return stringAt(recordAt(recordAt(target.container, "readinessProbe"), "httpGet"), "path") ?? "/";
}
