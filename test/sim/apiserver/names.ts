/**
 * Names and identifiers generated the way the real components generate them, so output looks
 * familiar (`model-7c9d8f6b5d-x2x4k`) and code that parses names keeps working.
 */
import { createHash, randomUUID } from "node:crypto";

/** k8s.io/apimachinery/pkg/util/rand: no vowels (no accidental words) and no confusable 0/1/3. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export function randomSuffix(length = 5): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)];
  return out;
}

/** rand.SafeEncodeString: maps each byte onto the alphabet above. */
export function safeEncode(input: string): string {
  let out = "";
  for (const ch of input) out += ALPHANUMS[ch.charCodeAt(0) % ALPHANUMS.length];
  return out;
}

export function fnv32a(input: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(input, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with sorted keys, so equal objects hash equally whatever order clients sent. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The pod-template-hash the Deployment controller puts on ReplicaSets and their pods. */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const input = canonicalJson(template) + (collisionCount ? String(collisionCount) : "");
  return safeEncode(String(fnv32a(input)));
}

export function newUid(): string {
  return randomUUID();
}

/** A containerd-style container id, derived from the runtime's id so it is stable per attempt. */
export function runtimeContainerId(id: string): string {
  return `containerd://${createHash("sha256").update(id).digest("hex")}`;
}

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const DNS1035_LABEL_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
