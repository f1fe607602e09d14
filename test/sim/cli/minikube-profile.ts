/**
 * minikube's files: $MINIKUBE_HOME/.minikube (or ~/.minikube) holds the shared CA (ca.crt), the
 * docker-env certificates (certs/), and one directory per profile (profiles/P: config.json,
 * apiserver and client certificates). The simulator writes the same files, so tools that detect
 * minikube from them (mlkube does) see a minikube cluster.
 */
import { access, copyFile, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { ensureEnginePki } from "../node/engine.js";
import { ensureCA, issueCert } from "../pki.js";
import type { ClusterRecord } from "../state.js";

export const MINIKUBE_VERSION = "v1.35.0";
export const MINIKUBE_COMMIT = "dd5d320e41b5451cdf3c01891bc4e13d189586ed";
export const KUBERNETES_VERSION = "v1.32.0";

/** localpath.MiniPath(): $MINIKUBE_HOME if it ends in .minikube, else $MINIKUBE_HOME/.minikube. */
export function miniPath(): string {
  const home = process.env.MINIKUBE_HOME;
  if (!home) return join(homedir(), ".minikube");
  return basename(home) === ".minikube" ? home : join(home, ".minikube");
}

export function profileDir(profile: string): string {
  return join(miniPath(), "profiles", profile);
}

export function profilePki(profile: string): ClusterRecord["pki"] {
  return {
    ca: join(miniPath(), "ca.crt"),
    apiServerCert: join(profileDir(profile), "apiserver.crt"),
    apiServerKey: join(profileDir(profile), "apiserver.key"),
    clientCert: join(profileDir(profile), "client.crt"),
    clientKey: join(profileDir(profile), "client.key"),
  };
}

export async function writeProfilePki(profile: string, nodeIP: string): Promise<void> {
  const pki = profilePki(profile);
  const caKey = join(miniPath(), "ca.key");
  await ensureCA(pki.ca, caKey, "minikubeCA");
  await issueCert({
    caCert: pki.ca,
    caKey,
    certPath: pki.apiServerCert,
    keyPath: pki.apiServerKey,
    commonName: "minikube",
    usage: "server",
    dnsNames: [
      "control-plane.minikube.internal",
      "kubernetes.default.svc.cluster.local",
      "kubernetes.default.svc",
      "kubernetes.default",
      "kubernetes",
      "localhost",
      profile,
    ],
    ips: [nodeIP, "10.96.0.1", "127.0.0.1", "10.0.0.1"],
  });
  await issueCert({
    caCert: pki.ca,
    caKey,
    certPath: pki.clientCert,
    keyPath: pki.clientKey,
    commonName: "minikube-user",
    organization: "system:masters",
    usage: "client",
  });
}

/**
 * The docker-env certificates (certs/ca.pem, cert.pem, key.pem): the simulator's engine CA signs
 * every node engine's certificate, so these are copies of its files. A different CA already there
 * belongs to a real minikube: refuse rather than overwrite it.
 */
export async function ensureDockerEnvCerts(): Promise<string> {
  const source = await ensureEnginePki();
  const certs = join(miniPath(), "certs");
  await mkdir(certs, { recursive: true });
  const existing = await readFile(join(certs, "ca.pem"), "utf8").catch(() => undefined);
  const ours = await readFile(join(source, "ca.pem"), "utf8");
  if (existing !== undefined && existing !== ours) {
    throw new Error(`${certs} holds another minikube's certificates; set MINIKUBE_HOME to the simulator's (eval "$(npm run -s sim -- up)")`);
  }
  for (const file of ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"]) await copyFile(join(source, file), join(certs, file));
  return certs;
}

export async function profileExists(profile: string): Promise<boolean> {
  return access(join(profileDir(profile), "config.json")).then(
    () => true,
    () => false,
  );
}

/** A trimmed ClusterConfig with minikube's field names (what `profile list -o json` shows as Config). */
export function clusterConfig(
  profile: string,
  options: { ip: string; runtime: string; memory: number; cpus: number; ports: string[] },
): Record<string, unknown> {
  return {
    Name: profile,
    KeepContext: false,
    EmbedCerts: false,
    Memory: options.memory,
    CPUs: options.cpus,
    DiskSize: 20000,
    Driver: "docker",
    InsecureRegistry: null,
    Network: "",
    ExposedPorts: options.ports,
    KubernetesConfig: {
      KubernetesVersion: KUBERNETES_VERSION,
      ClusterName: profile,
      Namespace: "default",
      APIServerHAVIP: "",
      APIServerName: "minikubeCA",
      DNSDomain: "cluster.local",
      ContainerRuntime: options.runtime,
      NetworkPlugin: "cni",
      ServiceCIDR: "10.96.0.0/12",
    },
    Nodes: [
      { Name: "", IP: options.ip, Port: 8443, KubernetesVersion: KUBERNETES_VERSION, ContainerRuntime: options.runtime, ControlPlane: true, Worker: true },
    ],
    Addons: { "default-storageclass": true, "storage-provisioner": true },
    APIServerPort: 8443,
  };
}
