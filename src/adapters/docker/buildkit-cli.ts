/**
 * Which `docker` CLI can run a BuildKit build against the engine mlkube resolved, or why none can.
 *
 * mlkube drives BuildKit through the docker CLI (not the Engine API's BuildKit mode, whose secrets,
 * context upload and progress need the gRPC session protocol only the CLI and buildx implement).
 * Two CLIs can: one with the buildx plugin (`docker buildx build`; what `docker build` is on
 * Docker 23+ and Desktop), and a CLI older than 23.0 whose built-in client speaks BuildKit when
 * DOCKER_BUILDKIT=1 (Debian's 20.10). A 23+ CLI without buildx cannot: it refuses
 * DOCKER_BUILDKIT=1 ("the buildx component is missing").
 */
import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { runCommand, type Exec } from "../exec.js";
import { isExecutable, pathDirectories } from "../tools/path-search.js";

export interface BuildkitCli {
  /** Absolute path of the docker binary. */
  path: string;
  /** `buildx`: `docker buildx build --load`; `builtin`: `DOCKER_BUILDKIT=1 docker build`. */
  mode: "buildx" | "builtin";
  /** The CLI's version, for messages. */
  version: string;
}

export type BuildkitCliChoice = { cli: BuildkitCli; note?: string | undefined } | { cli: undefined; reason: string };

interface FindCliOptions {
  env: Readonly<Record<string, string | undefined>>;
  exec?: Exec;
  /** The directories searched, in order; default: PATH. */
  searchPath?: readonly string[];
}

/** The CLI's own version: 23.0 dropped the built-in BuildKit client in favour of buildx. */
const LAST_MAJOR_WITH_BUILTIN_BUILDKIT = 22;

/**
 * The first `docker` on the PATH that can build with BuildKit. The user's own `docker` (the first
 * on the PATH) is preferred; a later one is used only when the first cannot, and the note says so.
 */
export async function findBuildkitCli(options: FindCliOptions): Promise<BuildkitCliChoice> {
  const exec = options.exec ?? runCommand;
  const candidates = await dockerBinaries(options.searchPath ?? pathDirectories(options.env));
  if (candidates.length === 0) return { cli: undefined, reason: "no docker CLI is on the PATH (mlkube runs BuildKit builds through it)" };
  const refusals: string[] = [];
  for (const path of candidates) {
    const version = await clientVersion(exec, path, options.env);
    if (version === undefined) {
      refusals.push(`${path}: it does not run`);
      continue;
    }
    const cli = await capability(exec, path, version, options.env);
    if (cli) {
      const note = refusals.length > 0 ? `not ${refusals.join(", nor ")}` : undefined;
      return { cli, note };
    }
    refusals.push(`${path} (${version}): it has no buildx plugin, which BuildKit needs since Docker 23`);
  }
  return {
    cli: undefined,
    reason: `${refusals.join("; ")}; install the buildx plugin (docker-buildx-plugin, or Docker's docker-buildx package) to build with BuildKit`,
  };
}

async function capability(exec: Exec, path: string, version: string, env: FindCliOptions["env"]): Promise<BuildkitCli | undefined> {
  const hasBuildx = await exec(path, ["buildx", "version"], { env, timeoutMs: 10_000 }).then(
    () => true,
    () => false,
  );
  if (hasBuildx) return { path, mode: "buildx", version };
  const major = Number(/^(\d+)\./.exec(version)?.[1] ?? Number.NaN);
  // 18.09 introduced DOCKER_BUILDKIT; older CLIs are long gone but would fail here, not mid-build.
  if (major >= 18 && major <= LAST_MAJOR_WITH_BUILTIN_BUILDKIT) return { path, mode: "builtin", version };
  return undefined;
}

async function clientVersion(exec: Exec, path: string, env: FindCliOptions["env"]): Promise<string | undefined> {
  try {
    // --format on the client alone: no engine round-trip, so it answers even with the engine away.
    const { stdout } = await exec(path, ["version", "--format", "{{.Client.Version}}"], { env, timeoutMs: 10_000 });
    return stdout.trim().split("\n")[0] || undefined;
  } catch (error) {
    // `docker version` exits non-zero when the engine does not answer but still prints the client.
    const output = (error as { output?: string }).output ?? "";
    return /^\d+\.\d+\S*/m.exec(output)?.[0];
  }
}

/** Every executable named docker on the search path, in order, each real file once. */
async function dockerBinaries(dirs: readonly string[]): Promise<string[]> {
  const found = new Map<string, string>();
  for (const dir of dirs) {
    const path = join(dir, process.platform === "win32" ? "docker.exe" : "docker");
    if (!(await isExecutable(path))) continue;
    // /bin is often a link to /usr/bin: the same binary twice would be asked twice.
    const real = await realpath(path);
    if (!found.has(real)) found.set(real, path);
  }
  return [...found.values()];
}
