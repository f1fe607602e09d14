import { describe, expect, it } from "vitest";
import { hostsSupport } from "../../src/adapters/cluster/containerd-hosts.js";

// Excerpts of `containerd config dump` as each generation prints the registry section.
// containerd 1.7 (kind node images before v0.27), as in kind's pkg/cluster/nodeutils/util_test.go:
const CONTAINERD17 = `version = 2
root = "/var/lib/containerd"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""

      [plugins."io.containerd.grpc.v1.cri".registry.auths]

      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
`;

// containerd 2.x prints version 3 with single-quoted plugin names.
const CONTAINERD20 = `version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''
`;

describe("hostsSupport: does a kind node's containerd read hosts.toml", () => {
  it("containerd 1.7 without kind's patch: no, and says why", () => {
    const support = hostsSupport(CONTAINERD17);
    expect(support).toEqual({
      reads: false,
      why: expect.stringMatching(/containerd \(1\.x\) has no registry config_path, so it ignores hosts\.toml \(kind node images before v0\.27/),
    });
  });

  it("containerd 1.7 with the patch mlkube and kind's guide apply: yes, from the directory it names", () => {
    const patched = CONTAINERD17.replace('config_path = ""', 'config_path = "/etc/containerd/certs.d"');
    expect(hostsSupport(patched)).toEqual({ reads: true, hostsDir: "/etc/containerd/certs.d" });
  });

  it("a config_path with several directories: the first is where mlkube writes", () => {
    const patched = CONTAINERD17.replace('config_path = ""', 'config_path = "/etc/k8s/hosts:/etc/containerd/certs.d"');
    expect(hostsSupport(patched)).toEqual({ reads: true, hostsDir: "/etc/k8s/hosts" });
  });

  it("containerd 2.x (kind v0.27+): yes, containerd's default directory when config_path is empty", () => {
    expect(hostsSupport(CONTAINERD20)).toEqual({ reads: true, hostsDir: "/etc/containerd/certs.d" });
    expect(hostsSupport(CONTAINERD20.replace("config_path = ''", "config_path = '/srv/hosts'"))).toEqual({ reads: true, hostsDir: "/srv/hosts" });
  });

  it("output that is not TOML: unknown, with the parser's first line", () => {
    const support = hostsSupport("containerd: command not found\n[[[");
    expect(support.reads).toBe("unknown");
    expect(support.reads === "unknown" && support.why).toMatch(/^containerd's configuration could not be read \(.+\)$/);
  });
});
