/**
 * How a kind node's containerd decides where to pull an image from: the image reference's registry
 * host selects `/etc/containerd/certs.d/<host>/hosts.toml` (or `_default/hosts.toml`); its
 * `[host."URL"]` entries are tried in order, then `server` (default `https://<host>`). Pure functions,
 * so the rules are unit-tested without a node.
 */

export interface ImageReference {
  /** Registry host as written, e.g. `localhost:5001`, `docker.io`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/nginx`, `iris`. */
  path: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

/** Docker's normalisation: `nginx` is `docker.io/library/nginx:latest`. */
export function parseImageReference(image: string): ImageReference {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasDomain = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const domain = hasDomain ? first : "docker.io";
  let path = hasDomain ? rest.slice(slash + 1) : rest;
  if (domain === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (!tag && !digest) tag = "latest";
  return { domain, path, tag, digest };
}

export function formatReference(ref: ImageReference, domain = ref.domain): string {
  return `${domain}/${ref.path}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

export interface RegistryHost {
  scheme: "http" | "https";
  /** host[:port] */
  host: string;
  capabilities: string[];
  skipVerify: boolean;
}

/** The subset of TOML hosts.toml files use: `key = value`, `[host."URL"]` tables, strings, arrays, booleans. */
export function parseHostsToml(text: string): { server?: string; hosts: { url: string; capabilities?: string[]; skipVerify?: boolean }[] } {
  const result: { server?: string; hosts: { url: string; capabilities?: string[]; skipVerify?: boolean }[] } = { hosts: [] };
  let current: { url: string; capabilities?: string[]; skipVerify?: boolean } | undefined;
  let inOtherTable = false;
  for (const raw of text.split("\n")) {
    const line = raw
      .replace(/\s+#.*$/, "")
      .replace(/^#.*$/, "")
      .trim();
    if (!line) continue;
    const table = /^\[\s*host\.(?:"([^"]+)"|'([^']+)')\s*\]$/.exec(line);
    if (table) {
      current = { url: (table[1] ?? table[2]) as string };
      result.hosts.push(current);
      inOtherTable = false;
      continue;
    }
    if (line.startsWith("[")) {
      // e.g. [host."x".header]: not a host entry of its own, and nothing here needs it.
      inOtherTable = true;
      continue;
    }
    const pair = /^([A-Za-z_][\w-]*)\s*=\s*(.+)$/.exec(line);
    if (!pair || inOtherTable) continue;
    const [, key, value] = pair as unknown as [string, string, string];
    if (key === "server" && !current) result.server = unquote(value);
    if (key === "capabilities" && current) current.capabilities = [...value.matchAll(/["']([^"']+)["']/g)].map((m) => m[1] as string);
    if (key === "skip_verify" && current) current.skipVerify = value.trim() === "true";
  }
  return result;
}

function unquote(value: string): string {
  return value.trim().replace(/^["']|["']$/g, "");
}

function toHost(url: string, capabilities: string[] | undefined, skipVerify: boolean | undefined): RegistryHost {
  const parsed = new URL(url.includes("://") ? url : `https://${url}`);
  return {
    scheme: parsed.protocol === "http:" ? "http" : "https",
    host: parsed.host,
    capabilities: capabilities ?? ["pull", "resolve", "push"],
    skipVerify: skipVerify ?? false,
  };
}

/** The endpoints containerd would try for a registry domain, in order. */
export function resolveRegistryHosts(domain: string, hostsToml: string | undefined): RegistryHost[] {
  const defaultServer = domain === "docker.io" ? "https://registry-1.docker.io" : `https://${domain}`;
  if (hostsToml === undefined) return [toHost(defaultServer, undefined, undefined)];
  const parsed = parseHostsToml(hostsToml);
  return [...parsed.hosts.map((host) => toHost(host.url, host.capabilities, host.skipVerify)), toHost(parsed.server ?? defaultServer, undefined, undefined)];
}
