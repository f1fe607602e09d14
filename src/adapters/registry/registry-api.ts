/**
 * The few calls of the registry HTTP API (Distribution spec, docs/spec/api.md of
 * distribution/distribution) that pruning needs: list a repository's tags, read a tag's manifest
 * and image config, delete a manifest by digest. Plain HTTP: only a registry on this machine
 * (localhost) is ever pruned.
 */

const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");
const TIMEOUT_MS = 10_000;

export interface TaggedManifest {
  tag: string;
  /** The manifest's (or index's) digest: what a DELETE takes and what a node's pull records. */
  digest: string;
  /** Config and layer digests with their sizes: what garbage collection may free once unreferenced. */
  blobs: Map<string, number>;
  /** From the image config: when it was built (ms since the epoch) and its labels. */
  created: number;
  labels: Record<string, string>;
}

interface ManifestBody {
  mediaType?: string;
  config?: { digest: string; size: number };
  layers?: { digest: string; size: number }[];
  manifests?: { digest: string; size: number; platform?: { os?: string; architecture?: string } }[];
}

export class RegistryApi {
  /** `host` as images name it: `localhost:5001`. */
  constructor(private readonly host: string) {}

  async tags(repository: string): Promise<string[]> {
    const response = await this.request(`/v2/${repository}/tags/list`);
    if (response.status === 404) return []; // NAME_UNKNOWN: nothing pushed yet
    await expectOk(response, `listing the tags of ${repository}`);
    return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
  }

  async manifest(repository: string, tag: string): Promise<TaggedManifest | undefined> {
    const response = await this.request(`/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPES } });
    if (response.status === 404) return undefined; // deleted meanwhile
    await expectOk(response, `reading ${repository}:${tag}`);
    const digest = response.headers.get("docker-content-digest");
    if (!digest) throw new Error(`The registry ${this.host} gave no Docker-Content-Digest for ${repository}:${tag}.`);
    const body = (await response.json()) as ManifestBody;
    const blobs = new Map<string, number>();
    const image = await this.imageManifest(repository, body, blobs);
    if (!image?.config) return undefined; // not an image (a signature, an artifact): never mlkube's
    blobs.set(image.config.digest, image.config.size);
    for (const layer of image.layers ?? []) blobs.set(layer.digest, layer.size);
    const config = await this.request(`/v2/${repository}/blobs/${image.config.digest}`);
    await expectOk(config, `reading the config of ${repository}:${tag}`);
    const parsed = (await config.json()) as { created?: string; config?: { Labels?: Record<string, string> | null } };
    return { tag, digest, blobs, created: parsed.created ? Date.parse(parsed.created) : 0, labels: parsed.config?.Labels ?? {} };
  }

  /**
   * Deletes a manifest by digest (and with it every tag naming it). "unsupported" when the registry
   * runs without `storage.delete.enabled`, as the `registry:2` image does by default.
   */
  async deleteManifest(repository: string, digest: string): Promise<"deleted" | "gone" | "unsupported"> {
    const response = await this.request(`/v2/${repository}/manifests/${digest}`, { method: "DELETE" });
    if (response.status === 202) return "deleted";
    if (response.status === 404) return "gone";
    if (response.status === 405) return "unsupported";
    await expectOk(response, `deleting ${repository}@${digest}`);
    return "deleted";
  }

  /** An index (BuildKit with attestations, the containerd image store) names its image manifests: the first real platform's. */
  private async imageManifest(repository: string, body: ManifestBody, blobs: Map<string, number>): Promise<ManifestBody | undefined> {
    if (!body.manifests) return body;
    const child = body.manifests.find((entry) => entry.platform?.os !== "unknown");
    if (!child) return undefined;
    for (const entry of body.manifests) blobs.set(entry.digest, entry.size);
    const response = await this.request(`/v2/${repository}/manifests/${child.digest}`, { headers: { accept: MANIFEST_TYPES } });
    await expectOk(response, `reading ${repository}@${child.digest}`);
    return (await response.json()) as ManifestBody;
  }

  private request(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`http://${this.host}${path}`, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  }
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (response.ok) return;
  const text = await response.text().catch(() => "");
  throw new Error(`The registry answered ${response.status} ${response.statusText} ${what}${text ? `: ${text.trim().slice(0, 200)}` : ""}`);
}
