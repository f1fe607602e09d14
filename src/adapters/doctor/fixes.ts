import type { DoctorCheck } from "../../core/doctor.js";
import { isUserError } from "../../errors.js";
import { ensureRegistry } from "../cluster/local-registry.js";
import { connectDocker } from "../docker/client.js";
import type { PinnedDownload } from "../tools/download.js";
import { installPinnedKind } from "../tools/install-kind.js";
import { KIND_VERSION } from "../tools/kind-release.js";
import type { DoctorDeps } from "./run.js";

export interface FixOutcome {
  check: string;
  ok: boolean;
  message: string;
  hint?: string | undefined;
}

interface FixDeps extends DoctorDeps {
  /** The kind binary to install; by default the pinned release for this platform. */
  kindRelease?: PinnedDownload | undefined;
}

/** Applies the safe fixes the checks offer (`autoFix`); a fix that fails is reported, not thrown. */
export async function applyFixes(checks: readonly DoctorCheck[], deps: FixDeps): Promise<FixOutcome[]> {
  const outcomes: FixOutcome[] = [];
  for (const check of checks) {
    if (!check.autoFix) continue;
    try {
      outcomes.push({ check: check.name, ok: true, message: check.autoFix === "start-registry" ? await startRegistry(deps) : await installKind(deps) });
    } catch (error) {
      if (!isUserError(error)) throw error;
      outcomes.push({ check: check.name, ok: false, message: error.message, hint: error.hint });
    }
  }
  return outcomes;
}

async function startRegistry(deps: FixDeps): Promise<string> {
  // Needs the registry image; where it cannot be pulled, ensureRegistry says how to get it.
  const started = await ensureRegistry(connectDocker(deps.env).client, deps.registry);
  return `${started ? "started" : "already running:"} ${deps.registry.container} on 127.0.0.1:${deps.registry.hostPort}`;
}

async function installKind(deps: FixDeps): Promise<string> {
  const destination = await installPinnedKind({ binDir: deps.binDir, platform: deps.platform, release: deps.kindRelease });
  return `installed kind ${KIND_VERSION} at ${destination} (sha256 verified)`;
}
