/**
 * The Docker engine inside a node container: the node's container runtime stand-in. The host reaches
 * it at the node's IP on the cluster network, port 2376, with mutual TLS (the same way minikube's
 * docker-env reaches its node's engine).
 */
import Dockerode from "dockerode";
import { readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { ensureCA, issueCert } from "../pki.js";
import { simHome } from "../state.js";

export const ENGINE_PORT = 2376;

export function enginePkiDir(): string {
  return join(simHome(), "engine-pki");
}

/** The CA every node engine trusts and the client certificate the host presents (docker's file names). */
export async function ensureEnginePki(): Promise<string> {
  const dir = enginePkiDir();
  await ensureCA(join(dir, "ca.pem"), join(dir, "ca-key.pem"), "mlkube-sim engine CA");
  const cert = join(dir, "cert.pem");
  const present = await access(cert).then(
    () => true,
    () => false,
  );
  if (!present) {
    await issueCert({
      caCert: join(dir, "ca.pem"),
      caKey: join(dir, "ca-key.pem"),
      certPath: cert,
      keyPath: join(dir, "key.pem"),
      commonName: "mlkube-sim client",
      usage: "client",
    });
  }
  return dir;
}

/** A server certificate for one node's engine; it must name the node's IP, hence made after start. */
export async function issueEngineServerCert(outDir: string, nodeName: string, nodeIP: string): Promise<void> {
  const pki = await ensureEnginePki();
  await issueCert({
    caCert: join(pki, "ca.pem"),
    caKey: join(pki, "ca-key.pem"),
    certPath: join(outDir, "server-cert.pem"),
    keyPath: join(outDir, "server-key.pem"),
    commonName: nodeName,
    dnsNames: [nodeName, "localhost"],
    ips: [nodeIP, "127.0.0.1"],
    usage: "server",
  });
}

export function nodeEngine(nodeIP: string, port = ENGINE_PORT): Dockerode {
  const dir = enginePkiDir();
  return new Dockerode({
    protocol: "https",
    host: nodeIP,
    port,
    ca: readFileSync(join(dir, "ca.pem")),
    cert: readFileSync(join(dir, "cert.pem")),
    key: readFileSync(join(dir, "key.pem")),
  });
}
