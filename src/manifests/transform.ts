/**
 * Turns the user's own manifests into what runs on the local cluster: the model's container gets
 * the image mlkube built, Services work without a load balancer, Secrets stay out unless asked,
 * and everything carries mlkube's labels. Everything else (resources, probes, env, command) is
 * kept exactly: those settings are why someone runs their production manifests locally.
 * Each change is explained in a note.
 */
import type { ResolvedConfig } from "../config/load.js";
import { kindInfo } from "./kinds.js";
import { managedLabels } from "./labels.js";
import { findModelContainers, type ModelContainer } from "./model-container.js";
import { withholdSecret, type WithheldSecret } from "./secrets.js";
import { adaptService, selectsModel, serviceForModel, type ContainerPort, type ModelPods } from "./services.js";
import { describeObject, isRecord, listAt, recordAt, type KubeObject, type ObjectOrigin } from "./types.js";
import { podTemplate } from "./workloads.js";

export interface SourcedObject {
  object: KubeObject;
  origin: ObjectOrigin;
}

interface TransformOptions {
  /** The image reference the model's container runs; undefined keeps the image as written. */
  image?: string | undefined;
  /** Apply the Secrets in the manifests too. Default: withhold them. */
  includeSecrets?: boolean | undefined;
  /** Replicas for the model's workloads. Default: as written. */
  replicas?: number | undefined;
  /** Default: config.service.nodePort. */
  nodePort?: number | undefined;
  /** The production image's repository, when the caller knows it, to find the model's container by. */
  productionRepository?: string | undefined;
}

interface TransformResult {
  objects: KubeObject[];
  /** What was changed and why, one line each: `Service iris: LoadBalancer -> NodePort 30080 (...)`. */
  notes: string[];
  withheldSecrets: WithheldSecret[];
}

/** Kinds with a replicas field that scales the model's pods. */
const SCALABLE_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

/** Fields the API server sets; in a manifest exported with `kubectl get -o yaml` they make apply fail. */
const SERVER_METADATA = ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"];
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export function transformManifests(sources: readonly SourcedObject[], config: ResolvedConfig, options: TransformOptions): TransformResult {
  const notes: string[] = [];
  const note = (object: KubeObject, text: string) => notes.push(`${describeObject(object)}: ${text}`);
  // Work on copies: the caller's objects (and their YAML) stay as loaded.
  const copies = sources.map(({ object, origin }) => ({ object: structuredClone(object), origin }));

  const withheldSecrets: WithheldSecret[] = [];
  const kept = copies.filter(({ object, origin }) => {
    if (object.kind !== "Secret" || object.apiVersion !== "v1" || options.includeSecrets) return true;
    withheldSecrets.push(withholdSecret(object, config.namespace, origin));
    return false;
  });

  const models = findModelContainers(kept, config, options.productionRepository);
  for (const model of models) {
    if (options.image !== undefined) useImage(model, options.image, note);
    if (options.replicas !== undefined) setReplicas(model.object, options.replicas, note);
  }

  const nodePort = options.nodePort ?? config.service.nodePort;
  const objects = kept.map(({ object }) => object);
  const pods = modelPods(models, config.port);
  if (exposeModel(objects, pods, nodePort, note) === undefined) {
    const selector = selectorOf(models[0]?.object) ?? pods.labels;
    // The model's name may already belong to another Service in the manifests.
    const taken = objects.some((object) => object.kind === "Service" && object.metadata.name === config.name);
    const service = serviceForModel(taken ? `${config.name}-mlkube` : config.name, config.namespace, selector, pods.ports[0], nodePort);
    objects.push(service);
    note(service, `added: no Service in the manifests routes to the model's pods; NodePort ${nodePort} exposes them`);
  }

  for (const object of objects) {
    cleanServerFields(object, note);
    setNamespace(object, config.namespace, note);
    object.metadata.labels = { ...object.metadata.labels, ...managedLabels(config.name) };
  }
  return { objects, notes, withheldSecrets };
}

function useImage(model: ModelContainer, image: string, note: (object: KubeObject, text: string) => void): void {
  const { container } = model;
  note(model.object, `container ${String(container.name)}: image ${String(container.image)} -> ${image} (${model.reason})`);
  container.image = image;
  // The tag is unique per content, so a node that has it never needs to pull it again; Always
  // would make nodes without a registry (kind load) fail to start the pod.
  if (container.imagePullPolicy !== undefined && container.imagePullPolicy !== "IfNotPresent") {
    note(
      model.object,
      `container ${String(container.name)}: imagePullPolicy ${String(container.imagePullPolicy)} -> IfNotPresent (the tag is unique per content)`,
    );
  }
  container.imagePullPolicy = "IfNotPresent";
}

function setReplicas(object: KubeObject, replicas: number, note: (object: KubeObject, text: string) => void): void {
  const spec = recordAt(object, "spec");
  if (!SCALABLE_KINDS.has(object.kind) || spec === undefined || spec.replicas === replicas) return;
  note(object, `replicas ${String(spec.replicas ?? 1)} -> ${replicas} (as asked)`);
  spec.replicas = replicas;
}

/**
 * Adapts every Service, pinning the nodePort on the first one that routes to the model. Returns
 * that Service, or undefined when none does.
 */
function exposeModel(
  objects: readonly KubeObject[],
  pods: ModelPods,
  nodePort: number,
  note: (object: KubeObject, text: string) => void,
): KubeObject | undefined {
  let exposing: KubeObject | undefined;
  for (const service of objects.filter((object) => object.kind === "Service")) {
    const isModelService = exposing === undefined && selectsModel(service, pods);
    if (isModelService) exposing = service;
    const change = adaptService(service, isModelService ? { pods, nodePort } : undefined);
    if (change !== undefined) note(service, change);
  }
  return exposing;
}

function modelPods(models: readonly ModelContainer[], defaultPort: number): ModelPods {
  const template = models[0] ? podTemplate(models[0].object) : undefined;
  const labels = Object.fromEntries(Object.entries(recordAt(recordAt(template, "metadata"), "labels") ?? {}).map(([key, value]) => [key, String(value)]));
  const ports = models
    .flatMap((model) => listAt(model.container, "ports").filter(isRecord))
    .flatMap((port): ContainerPort[] =>
      typeof port.containerPort === "number" ? [{ containerPort: port.containerPort, name: typeof port.name === "string" ? port.name : undefined }] : [],
    );
  // A container that declares no ports still listens: on the port mlkube.yaml (or EXPOSE) names.
  const [first = { containerPort: defaultPort }, ...rest] = ports;
  return { labels, ports: [first, ...rest] };
}

function selectorOf(object: KubeObject | undefined): Record<string, string> | undefined {
  const matchLabels = recordAt(recordAt(object?.spec, "selector"), "matchLabels");
  if (matchLabels === undefined || Object.keys(matchLabels).length === 0) return undefined;
  return Object.fromEntries(Object.entries(matchLabels).map(([key, value]) => [key, String(value)]));
}

function cleanServerFields(object: KubeObject, note: (object: KubeObject, text: string) => void): void {
  const removed = SERVER_METADATA.filter((field) => field in object.metadata);
  for (const field of removed) delete object.metadata[field];
  const annotations = recordAt(object.metadata, "annotations");
  if (annotations && LAST_APPLIED in annotations) {
    delete annotations[LAST_APPLIED];
    removed.push(`the ${LAST_APPLIED} annotation`);
  }
  if ("status" in object) {
    delete object.status;
    removed.push("status");
  }
  const spec = recordAt(object, "spec");
  // A ClusterIP is allocated from the production cluster's range, which the local one does not have.
  if (object.kind === "Service" && spec !== undefined && spec.clusterIP !== "None") {
    for (const field of ["clusterIP", "clusterIPs"]) {
      if (field in spec) {
        delete spec[field];
        removed.push(`spec.${field}`);
      }
    }
  }
  if (removed.length > 0) note(object, `removed ${removed.join(", ")} (written by the cluster it was exported from)`);
}

function setNamespace(object: KubeObject, namespace: string, note: (object: KubeObject, text: string) => void): void {
  // Only kinds known to be namespaced: a custom resource may be cluster-scoped, so it is left as written.
  if (!kindInfo(object.apiVersion, object.kind)?.namespaced) return;
  const written = object.metadata.namespace;
  if (written !== undefined && written !== namespace) note(object, `namespace ${written} -> ${namespace} (the namespace in mlkube.yaml)`);
  object.metadata.namespace = namespace;
}
