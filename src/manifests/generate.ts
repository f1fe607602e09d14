/**
 * The Deployment and Service mlkube applies when the model directory has no manifests of its own.
 * Pure: the caller supplies the image reference (content-tagged) and what it learnt about the image.
 */
import type { V1Deployment, V1Probe, V1ResourceRequirements, V1SecurityContext, V1Service } from "@kubernetes/client-node";
import type { ProbeName, ResolvedConfig } from "../config/load.js";
import { managedLabels, podSelector } from "./labels.js";
import type { KubeObject } from "./types.js";

interface GenerateOptions {
  /** Content-tagged image reference, e.g. `localhost:5001/iris-sklearn:3f2a...`. */
  image: string;
  /** NodePort of the Service. Default: config.service.nodePort. */
  nodePort?: number | undefined;
  /** Default IfNotPresent: tags are unique per content, so a node never needs to pull a tag twice. */
  imagePullPolicy?: "IfNotPresent" | "Always" | "Never" | undefined;
  /**
   * The image's numeric USER, when the caller inspected the image; undefined when unknown or not
   * numeric. Only a non-zero uid turns on runAsNonRoot.
   */
  runAsUser?: number | undefined;
  /** Overrides config.deploy.replicas. */
  replicas?: number | undefined;
  /** A health endpoint mlkube detected, for a readiness probe whose path mlkube.yaml does not write. */
  readinessPath?: string | undefined;
}

interface GeneratedObjects {
  deployment: KubeObject;
  service: KubeObject;
}

/** Name of the container port, so probes and the Service follow a port change without edits. */
const PORT_NAME = "http";

/** Old ReplicaSets kept for `kubectl rollout undo`; the dev loop creates one per edit, so few. */
const REVISION_HISTORY_LIMIT = 3;

export function generateObjects(config: ResolvedConfig, options: GenerateOptions): GeneratedObjects {
  return { deployment: generateDeployment(config, options), service: generateService(config, options.nodePort ?? config.service.nodePort) };
}

export function generateDeployment(config: ResolvedConfig, options: GenerateOptions): KubeObject {
  const { name, namespace, port, deploy } = config;
  const env = Object.entries(deploy.env).map(([envName, value]) => ({ name: envName, value }));
  const resources = resourceRequirements(deploy.resources);
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { ...podSelector(name), ...managedLabels(name) } },
    spec: {
      replicas: options.replicas ?? deploy.replicas,
      revisionHistoryLimit: REVISION_HISTORY_LIMIT,
      selector: { matchLabels: podSelector(name) },
      // A new version must be ready before an old pod goes, so the last good version keeps
      // serving while a broken one crash-loops.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...podSelector(name), ...managedLabels(name) } },
        spec: {
          containers: [
            {
              name,
              image: options.image,
              imagePullPolicy: options.imagePullPolicy ?? "IfNotPresent",
              ports: [{ name: PORT_NAME, containerPort: port, protocol: "TCP" }],
              ...(env.length > 0 ? { env } : {}),
              ...(resources ? { resources } : {}),
              readinessProbe: modelProbe(config, "readiness", options.readinessPath),
              livenessProbe: modelProbe(config, "liveness", undefined),
              securityContext: securityContext(options.runAsUser),
            },
          ],
        },
      },
    },
  } satisfies V1Deployment;
  return deployment;
}

function generateService(config: ResolvedConfig, nodePort: number): KubeObject {
  const { name, namespace, port } = config;
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { ...podSelector(name), ...managedLabels(name) } },
    spec: {
      // NodePort, pinned: kind reaches a NodePort from the host only through the port mappings
      // fixed when the cluster was created, so the port must never move.
      type: "NodePort",
      selector: podSelector(name),
      ports: [{ name: PORT_NAME, port, targetPort: PORT_NAME, nodePort, protocol: "TCP" }],
    },
  } satisfies V1Service;
  return service;
}

function securityContext(runAsUser: number | undefined): V1SecurityContext {
  const context: V1SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
  // runAsNonRoot only when the image's user is a known non-zero uid. The kubelet checks it against
  // the image: with a root user the pod is refused, and with a user *name* ("USER app") it cannot
  // verify the uid and refuses the pod too (CreateContainerConfigError). So when the user is
  // unknown, root or a name, leave it out rather than break a working image.
  if (runAsUser !== undefined && runAsUser > 0) context.runAsNonRoot = true;
  return context;
}

/** A note explaining runAsNonRoot, for `render` and `dev` to show. */
export function securityNote(runAsUser: number | undefined): string | undefined {
  if (runAsUser === undefined) return "runAsNonRoot not set: the image's user is not known to be a numeric non-root uid (render does not inspect the image)";
  if (runAsUser === 0) return "runAsNonRoot not set: the image runs as root; add a numeric non-root USER (e.g. USER 10001) to the Dockerfile";
  return undefined;
}

/**
 * A probe on the model port. A path mlkube.yaml writes is asked over HTTP; otherwise mlkube guesses
 * no path (most servers answer 404 at "/"): readiness asks the detected health endpoint if there is
 * one, else waits for the port to accept connections, and liveness only watches the port, so a
 * server is never restarted for a path it was never told about.
 */
function modelProbe(config: ResolvedConfig, name: ProbeName, detectedPath: string | undefined): V1Probe {
  const probe = config.deploy.probes[name];
  const path = config.unwrittenProbePaths?.includes(name) ? detectedPath : probe.path;
  return {
    ...(path === undefined ? { tcpSocket: { port: PORT_NAME } } : { httpGet: { path, port: PORT_NAME } }),
    initialDelaySeconds: probe.initialDelaySeconds,
    periodSeconds: probe.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds,
    failureThreshold: probe.failureThreshold,
  };
}

function resourceRequirements(resources: ResolvedConfig["deploy"]["resources"]): V1ResourceRequirements | undefined {
  const requests = definedOnly(resources.requests);
  const limits = definedOnly(resources.limits);
  if (!requests && !limits) return undefined;
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

function definedOnly(list: { cpu?: string | undefined; memory?: string | undefined }): Record<string, string> | undefined {
  const entries = Object.entries(list).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
