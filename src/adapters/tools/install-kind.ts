import { join } from "node:path";
import { UserError } from "../../errors.js";
import { installVerified, type PinnedDownload } from "./download.js";
import { kindDownload } from "./kind-release.js";

interface KindInstall {
  /** mlkube's tool directory (~/.mlkube/bin), where selectProvider finds kind without a PATH change. */
  binDir: string;
  platform: NodeJS.Platform;
  /** The binary to install; by default the pinned release for this platform. */
  release?: PinnedDownload | undefined;
}

/**
 * Installs the pinned, checksum-verified kind: what `mlkube doctor --fix` does, and what `dev` and
 * `up` do when the user agrees (or passed --yes). One function so both install the same thing.
 * Returns the installed binary's path.
 */
export async function installPinnedKind(install: KindInstall): Promise<string> {
  const release = install.release ?? kindDownload(install.platform);
  if (!release) {
    throw new UserError("download", `mlkube pins no kind binary for ${install.platform}/${process.arch}.`, {
      hint: "Install kind yourself: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
  }
  const destination = join(install.binDir, "kind");
  await installVerified(release, destination);
  return destination;
}
