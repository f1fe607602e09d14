/**
 * Secrets in the user's manifests are not applied unless asked: production manifests often carry
 * real credentials, and a local cluster is no place for them. What the user gets instead is the
 * command that creates each Secret, with its key names and never its values.
 */
import { isRecord, stringAt, type KubeObject } from "./types.js";

export interface WithheldSecret {
  name: string;
  namespace: string;
  type: string;
  /** Key names from data and stringData, in file order; the values are never read. */
  keys: string[];
  file?: string | undefined;
  document?: number | undefined;
  /** A command that creates an equivalent Secret, with `...` where each value goes. */
  command: string;
}

export function withholdSecret(secret: KubeObject, namespace: string, origin: { file?: string | undefined; document?: number | undefined }): WithheldSecret {
  const name = secret.metadata.name ?? "unnamed";
  const type = stringAt(secret, "type") ?? "Opaque";
  const keys = [...new Set([...keysOf(secret.data), ...keysOf(secret.stringData)])];
  return { name, namespace, type, keys, file: origin.file, document: origin.document, command: createCommand(name, namespace, type, keys) };
}

function keysOf(map: unknown): string[] {
  return isRecord(map) ? Object.keys(map) : [];
}

function createCommand(name: string, namespace: string, type: string, keys: readonly string[]): string {
  const target = `${name} --namespace ${namespace}`;
  switch (type) {
    case "kubernetes.io/tls":
      return `kubectl create secret tls ${target} --cert=PATH/TO/tls.crt --key=PATH/TO/tls.key`;
    case "kubernetes.io/dockerconfigjson":
      return `kubectl create secret docker-registry ${target} --docker-server=... --docker-username=... --docker-password=...`;
    default: {
      const literals = keys.map((key) => `--from-literal=${key}=...`).join(" ");
      const typeFlag = type === "Opaque" ? "" : ` --type=${type}`;
      return `kubectl create secret generic ${target}${typeFlag}${literals === "" ? "" : ` ${literals}`}`;
    }
  }
}
