/**
 * Certificates made with the `openssl` CLI, as kubeadm (kind) and minikube make theirs: a CA, an API
 * server certificate naming every address the server is reached by, client certificates for the
 * kubeconfig, and server/client certificates for each node's Docker engine (TLS on 2376).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A random positive serial: openssl's -CAcreateserial would leave .srl files next to the CA. */
function serial(): string {
  return `0x${(randomBytes(15).readUInt8(0) & 0x7f).toString(16)}${randomBytes(14).toString("hex")}`;
}

/** Creates a CA unless both files exist (minikube keeps one CA for all profiles). */
export async function ensureCA(certPath: string, keyPath: string, commonName: string): Promise<void> {
  if ((await exists(certPath)) && (await exists(keyPath))) return;
  await mkdir(dirname(certPath), { recursive: true });
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "3650",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
  ]);
}

export interface CertRequest {
  caCert: string;
  caKey: string;
  certPath: string;
  keyPath: string;
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ips?: string[];
  usage: "server" | "client";
}

export async function issueCert(request: CertRequest): Promise<void> {
  await mkdir(dirname(request.certPath), { recursive: true });
  const scratch = `${request.certPath}.${process.pid}`;
  const subject = `/CN=${request.commonName}${request.organization ? `/O=${request.organization}` : ""}`;
  const names = [...(request.dnsNames ?? []).map((name) => `DNS:${name}`), ...(request.ips ?? []).map((ip) => `IP:${ip}`)];
  const extensions = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${request.usage === "server" ? "serverAuth" : "clientAuth"}`,
    ...(names.length > 0 ? [`subjectAltName=${names.join(",")}`] : []),
  ];
  try {
    await writeFile(`${scratch}.ext`, `${extensions.join("\n")}\n`);
    await openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", request.keyPath, "-out", `${scratch}.csr`, "-subj", subject]);
    await openssl([
      "x509",
      "-req",
      "-sha256",
      "-days",
      "365",
      "-in",
      `${scratch}.csr`,
      "-CA",
      request.caCert,
      "-CAkey",
      request.caKey,
      "-set_serial",
      serial(),
      "-extfile",
      `${scratch}.ext`,
      "-out",
      request.certPath,
    ]);
  } finally {
    await rm(`${scratch}.ext`, { force: true });
    await rm(`${scratch}.csr`, { force: true });
  }
}
