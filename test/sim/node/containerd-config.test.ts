import { describe, expect, it } from "vitest";
import { containerdHostsDirs, isContainerd1NodeImage, kindNodeContainerdConfig } from "./containerd-config.js";

/** The patch kind's local-registry guide gives, and mlkube's cluster config carries. */
const KIND_REGISTRY_PATCH = '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"';

describe("simulated kind node containerd configuration", () => {
  it("takes node images tagged below kind v0.27's default (v1.32.2) as containerd 1.7 images", () => {
    expect(isContainerd1NodeImage("kindest/node:v1.31.4")).toBe(true);
    expect(isContainerd1NodeImage("kindest/node:v1.32.0@sha256:c48c62eac5da28cdadcf560d1d8616cfa6783b58f0d94cf63ad1bf49600cb027")).toBe(true);
    expect(isContainerd1NodeImage("kindest/node:v1.32.2")).toBe(false);
    expect(isContainerd1NodeImage("kindest/node:v1.35.0")).toBe(false);
    expect(isContainerd1NodeImage(undefined)).toBe(false);
  });

  it("an old node image reads no hosts.toml unless the cluster was created with kind's patch", () => {
    expect(containerdHostsDirs(kindNodeContainerdConfig("kindest/node:v1.31.4", []))).toEqual([]);
    expect(containerdHostsDirs(kindNodeContainerdConfig("kindest/node:v1.31.4", [KIND_REGISTRY_PATCH]))).toEqual(["/etc/containerd/certs.d"]);
  });

  it("a current node image reads containerd 2's default directories, patched or not", () => {
    expect(containerdHostsDirs(kindNodeContainerdConfig(undefined, []))).toEqual(["/etc/containerd/certs.d", "/etc/docker/certs.d"]);
    expect(containerdHostsDirs(kindNodeContainerdConfig(undefined, [KIND_REGISTRY_PATCH]))).toEqual(["/etc/containerd/certs.d", "/etc/docker/certs.d"]);
  });

  it("applies patches as merge patches, and names a patch that is not TOML", () => {
    const config = kindNodeContainerdConfig("kindest/node:v1.30.0", [
      '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/a:/b"',
      "[plugins]\nextra = 1",
    ]);
    expect(containerdHostsDirs(config)).toEqual(["/a", "/b"]);
    expect(config).toMatch(/extra = 1/);
    expect(() => kindNodeContainerdConfig(undefined, ["[[["])).toThrow(/^failed to apply containerdConfigPatches\[0\]: /);
  });
});
