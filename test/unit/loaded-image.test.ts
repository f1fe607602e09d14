/**
 * The check after a whole-image load accepts the image by either digest (kind#4236, kind PR #4238):
 * Docker's classic store reports the config digest as the image ID, its containerd image store
 * the manifest/index digest, and a node's crictl always the config digest. The recorded shapes
 * below are those of `docker image inspect` in each store (moby#48894 shows the containerd
 * store's `Descriptor`), `crictl inspecti -o json` (containerd's CRI) and `ctr images ls`; the
 * digests are computed from a real config and manifest, so they relate as they do on a machine.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crictlImageId, ctrListCommand, ctrTargetDigest, fullReference, matchLoadedImage } from "../../src/adapters/cluster/loaded-image.js";

const sha256 = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;
const layer = sha256("layer");
const config = JSON.stringify({
  architecture: "amd64",
  os: "linux",
  config: { Cmd: ["python3", "app.py"], ExposedPorts: { "8080/tcp": {} } },
  rootfs: { type: "layers", diff_ids: [layer] },
});
const CONFIG_DIGEST = sha256(config);
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: CONFIG_DIGEST, size: config.length },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer, size: 1_234_567 }],
});
const index = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: sha256(manifest),
      size: manifest.length,
      platform: { architecture: "amd64", os: "linux" },
    },
  ],
});
const INDEX_DIGEST = sha256(index);
const REFERENCE = "mlkube/iris-sklearn:3f9c2a1b7d4e5f60";

/** `docker image inspect` with the classic (overlay2) store: the ID is the config digest, no Descriptor. */
const classicInspect = {
  Id: CONFIG_DIGEST,
  RepoTags: [REFERENCE],
  RepoDigests: [],
  Parent: "",
  Architecture: "amd64",
  Os: "linux",
  Size: 812_345_678,
  RootFS: { Type: "layers", Layers: [layer] },
};
/** With the containerd image store: the ID is the target (here an index, as BuildKit makes) and equals Descriptor.digest. */
const containerdInspect = {
  Id: INDEX_DIGEST,
  RepoTags: [REFERENCE],
  RepoDigests: [],
  Architecture: "amd64",
  Os: "linux",
  Size: 812_345_678,
  RootFS: { Type: "layers", Layers: [layer] },
  Descriptor: { mediaType: "application/vnd.oci.image.index.v1+json", digest: INDEX_DIGEST, size: index.length },
};

/** `crictl inspecti -o json` on the node after the load: always the config digest. */
function crictlOutput(id: string): string {
  return JSON.stringify(
    {
      status: { id, repoTags: [`docker.io/${REFERENCE}`], repoDigests: [], size: "254123456", uid: null, username: "", spec: null, pinned: false },
      info: { chainID: sha256("chain"), imageSpec: JSON.parse(config) as unknown },
    },
    null,
    2,
  );
}

/** `ctr --namespace=k8s.io images ls name==...` on the node: containerd's record, with the target digest. */
function ctrOutput(target: string, mediaType = "application/vnd.oci.image.index.v1+json"): string {
  return [
    "REF                                                TYPE                                    DIGEST                                                                  SIZE      PLATFORMS   LABELS",
    `docker.io/${REFERENCE}   ${mediaType} ${target} 242.4 MiB linux/amd64 io.cri-containerd.image=managed`,
    "",
  ].join("\n");
}

describe("the image check after a load", () => {
  it("classic store: Docker's ID is the config digest, which crictl reports", () => {
    expect(classicInspect.Id).toBe(CONFIG_DIGEST);
    expect(matchLoadedImage(classicInspect.Id, { criImageId: crictlImageId(crictlOutput(CONFIG_DIGEST)) })).toBe("config digest (CRI)");
  });

  it("containerd image store: Docker's ID is the index digest; crictl differs, containerd's target matches", () => {
    expect(containerdInspect.Id).toBe(containerdInspect.Descriptor.digest);
    const criImageId = crictlImageId(crictlOutput(CONFIG_DIGEST));
    expect(criImageId).not.toBe(containerdInspect.Id);
    expect(matchLoadedImage(containerdInspect.Id, { criImageId })).toBeUndefined();
    expect(matchLoadedImage(containerdInspect.Id, { criImageId, containerdTarget: ctrTargetDigest(ctrOutput(INDEX_DIGEST), REFERENCE) })).toBe(
      "target digest (containerd)",
    );
  });

  it("a single-manifest image in the containerd store matches by its manifest digest", () => {
    const manifestDigest = sha256(manifest);
    expect(
      matchLoadedImage(manifestDigest, {
        criImageId: CONFIG_DIGEST,
        containerdTarget: ctrTargetDigest(ctrOutput(manifestDigest, "application/vnd.oci.image.manifest.v1+json"), REFERENCE),
      }),
    ).toBe("target digest (containerd)");
  });

  it("an older image under the tag, or none, does not match by either digest", () => {
    const old = { criImageId: sha256("old config"), containerdTarget: sha256("old index") };
    expect(matchLoadedImage(classicInspect.Id, old)).toBeUndefined();
    expect(matchLoadedImage(containerdInspect.Id, old)).toBeUndefined();
    expect(matchLoadedImage(containerdInspect.Id, {})).toBeUndefined();
  });

  it("accepts the shortened IDs a listing prints, but not a prefix too short to identify an image", () => {
    expect(matchLoadedImage(CONFIG_DIGEST, { criImageId: CONFIG_DIGEST.slice("sha256:".length, "sha256:".length + 12) })).toBe("config digest (CRI)");
    expect(matchLoadedImage(CONFIG_DIGEST, { criImageId: CONFIG_DIGEST.slice(0, 10) })).toBeUndefined();
  });

  it("reads crictl's JSON and ctr's table defensively", () => {
    expect(crictlImageId("FATA[0000] no such image")).toBeUndefined();
    expect(crictlImageId(JSON.stringify({ status: {} }))).toBeUndefined();
    // ctr import --digests also names the image by digest; only the reference's own row counts.
    const rows = `REF TYPE DIGEST SIZE PLATFORMS LABELS\nimport-2026-12-05@${INDEX_DIGEST} application/vnd.oci.image.index.v1+json ${sha256("x")} 1 MiB linux/amd64 -\n${ctrOutput(INDEX_DIGEST).split("\n")[1]}\n`;
    expect(ctrTargetDigest(rows, REFERENCE)).toBe(INDEX_DIGEST);
    expect(ctrTargetDigest("REF TYPE DIGEST SIZE PLATFORMS LABELS\n", REFERENCE)).toBeUndefined();
  });

  it("names images as containerd does", () => {
    expect(fullReference("iris:1")).toBe("docker.io/library/iris:1");
    expect(fullReference("mlkube/iris:1")).toBe("docker.io/mlkube/iris:1");
    expect(fullReference("localhost:5001/iris:1")).toBe("localhost:5001/iris:1");
    expect(fullReference("ghcr.io/me/iris:1")).toBe("ghcr.io/me/iris:1");
    expect(ctrListCommand("mlkube/iris:1")).toEqual(["ctr", "--namespace=k8s.io", "images", "ls", "name==docker.io/mlkube/iris:1"]);
  });
});
