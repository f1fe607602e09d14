import { homedir } from "node:os";
import { join } from "node:path";
import type { PinnedDownload } from "./download.js";

/**
 * The kind release `mlkube doctor --fix` installs, with the SHA-256 of each platform's binary as
 * kind publishes it (kind-OS-ARCH.sha256sum on the release). Bump version and sums together.
 */
export const KIND_VERSION = "v0.30.0";
const KIND_SHA256: Readonly<Record<string, string>> = {
  "linux-amd64": "517ab7fc89ddeed5fa65abf71530d90648d9638ef0c4cde22c2c11f8097b8889",
  "linux-arm64": "7ea2de9d2d190022ed4a8a4e3ac0636c8a455e460b9a13ccf19f15d07f4f00eb",
  "darwin-amd64": "4f0b6e3b88bdc66d922c08469f05ef507d4903dd236e6319199bb9c868eed274",
  "darwin-arm64": "ceaf40df1d1551c481fb50e3deb5c3deecad5fd599df5469626b70ddf52a1518",
};

/** Where mlkube keeps the tools it installs. */
export function mlkubeBinDir(home: string = homedir()): string {
  return join(home, ".mlkube", "bin");
}

/** The pinned download for this platform, or undefined where kind publishes none we pinned. */
export function kindDownload(platform: NodeJS.Platform = process.platform, arch: string = process.arch): PinnedDownload | undefined {
  const goArch = arch === "x64" ? "amd64" : arch;
  const sha256 = KIND_SHA256[`${platform}-${goArch}`];
  if (!sha256) return undefined;
  return { url: `https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-${platform}-${goArch}`, sha256 };
}
