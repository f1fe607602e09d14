/**
 * The dev image: the user's built image plus one layer holding mlkube's restart supervisor
 * (templates/live), which becomes PID 1 and runs the image's original command. After a sync,
 * `kill -HUP 1` in the container restarts the server in place: no new pod, no image pull, no probe
 * period. The user's Dockerfile and the production image (`mlkube build`) are never touched.
 *
 * Limitation: a Deployment whose container sets `command` bypasses the image's ENTRYPOINT, and so
 * the supervisor; `args` alone still works (it replaces CMD, which carries the original CMD).
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import { pack as tarPack } from "tar-stream";
import { UserError } from "../../errors.js";
import { PACKAGE_ROOT } from "../../package-root.js";
import { runBuildkitBuild } from "./buildkit-build.js";
import type { BuildkitCli } from "./buildkit-cli.js";
import { buildkitFailure } from "./buildkit-errors.js";
import { checkDockerfile } from "./dockerfile-check.js";

/** templates/live, shipped in the package. */
const SUPERVISOR_SOURCE_DIR = join(PACKAGE_ROOT, "templates", "live");
const SUPERVISOR_FILES = ["start.sh", "supervisor.py", "supervisor.sh"] as const;

/** Where the layer puts the supervisor inside the image. */
const SUPERVISOR_DIR = "/usr/local/lib/mlkube-live";
/** The supervisor's state, written after every start, exit and restart (see SupervisorState). */
export const LIVE_STATE_DIR = "/tmp/mlkube-live";
export const LIVE_STATE_FILE = `${LIVE_STATE_DIR}/state.json`;
/** Run in the container (pods/exec) to restart the server: the supervisor is PID 1. */
export const RESTART_COMMAND: readonly string[] = ["kill", "-HUP", "1"];
/** Environment variable the supervisor reads its policy from: mlkube.yaml's `restart`. */
export const RESTART_POLICY_ENV = "MLKUBE_RESTART";
type RestartPolicy = "auto" | "process" | "none";
/** Label on dev images, so they can be told from production ones. */
const DEV_LAYER_LABEL = "dev.mlkube.live";

/** The content of LIVE_STATE_FILE. */
export interface SupervisorState {
  supervisor: "python" | "sh";
  policy: RestartPolicy;
  /** How the next start will happen. */
  mode: "warm-fork" | "re-exec";
  /** Why re-exec, when it is: "restart: process", "not a Python command", a fallback's cause. */
  modeReason: string | null;
  command: string[];
  /** Starts of the server so far, the first included; a restart increments it. */
  generation: number;
  restarts: number;
  childPid: number | null;
  running: boolean;
  lastExit: { pid: number | null; generation: number; status: number; signal: string | null; afterSeconds: number; requested?: boolean } | null;
  lastRestart: { method: "warm-fork" | "re-exec"; reason: string; ms: number; at: number; generation: number } | null;
  /** Library modules the warm parent has imported (0 for the sh supervisor). */
  warmModules: number;
}

interface DevLayerBase {
  imageId: string;
  /** e.g. `iris-sklearn` or `localhost:5001/iris-sklearn`; the dev image goes in the same repository. */
  repository: string;
  tag: string;
}

export interface DevLayerResult {
  /** repository:tag */
  reference: string;
  tag: string;
  imageId: string;
  /** True when the dev image for this base and supervisor already existed. */
  cached: boolean;
}

interface DevLayerOptions {
  signal?: AbortSignal | undefined;
  /**
   * Directories live update writes into (sync rule destinations): made the image user's, with the
   * directories under them, so `tar -x` can replace files there. Only directory entries change
   * owner: the files in them stay in their layers.
   */
  writableDirs?: readonly string[] | undefined;
  /** mlkube.yaml's `restart`, baked in as MLKUBE_RESTART (auto when unset). */
  restart?: RestartPolicy | undefined;
  /** BuildKit's docker CLI, when the session's images are built with it; else the classic builder. */
  buildkit?: DevLayerBuildkit | undefined;
}

interface DevLayerBuildkit {
  cli: BuildkitCli;
  /** Points the CLI at the engine (DOCKER_HOST or DOCKER_CONTEXT). */
  env: Readonly<Record<string, string | undefined>>;
}

/** Builds (or finds) the dev image for a built user image. */
export async function addDevLayer(docker: Dockerode, base: DevLayerBase, options: DevLayerOptions = {}): Promise<DevLayerResult> {
  const { signal } = options;
  const files = await readSupervisorFiles();
  const settings = { writableDirs: [...(options.writableDirs ?? [])].sort(), restart: options.restart ?? "auto" };
  const tag = devLayerTag(base, files, settings);
  const reference = `${base.repository}:${tag}`;
  const existing = await imageId(docker, reference);
  if (existing) return { reference, tag, imageId: existing, cached: true };
  throwIfAborted(signal);

  // FROM names the base by its content tag: BuildKit cannot start from a bare image ID (it takes
  // `sha256:…` for an image on Docker Hub). The tag must still name the image this layer is for.
  const from = `${base.repository}:${base.tag}`;
  const baseImage = await docker.getImage(from).inspect();
  if (baseImage.Id !== base.imageId)
    throw new UserError("build", `${from} is no longer the image just built (${base.imageId.slice(7, 19)}), so the dev layer cannot be added to it.`, {
      hint: "Something retagged it meanwhile; save a file to build again.",
    });
  const dockerfile = devLayerDockerfile(from, asList(baseImage.Config.Entrypoint), asList(baseImage.Config.Cmd), {
    ...settings,
    user: baseImage.Config.User ?? "",
  });
  const labels = { "dev.mlkube.managed": "true", [DEV_LAYER_LABEL]: "true" };
  const build = { files, dockerfile, labels, reference, signal };
  try {
    if (options.buildkit) await buildWithBuildkit(docker, options.buildkit, build);
    else await buildWithClassicBuilder(docker, build);
  } catch (error) {
    if (signal?.aborted) throw new UserError("cancelled", "The dev image build was cancelled.");
    throw error;
  }
  const built = await imageId(docker, reference);
  if (!built)
    throw new UserError("build", `The Docker engine finished the dev layer build but ${reference} does not exist.`, {
      hint: "Run 'mlkube dev' again; 'docker images' lists what the engine has.",
    });
  return { reference, tag, imageId: built, cached: false };
}

interface LayerBuild {
  /** The supervisor's files by name, from templates/live. */
  files: ReadonlyMap<string, Buffer>;
  dockerfile: string;
  labels: Record<string, string>;
  reference: string;
  signal: AbortSignal | undefined;
}

/**
 * Fixed modes and times, so that the same supervisor always gives the same layer. BuildKit keeps
 * a copied file's mtime in the layer; the classic builder's tar gets the same values.
 */
const FILE_MODE = 0o755;
const FILE_TIME = new Date(0);

const FAILED_HINT = "The user's image built; the supervisor layer did not. 'mlkube dev --no-live' deploys the image as built (every change then rebuilds).";

/** The same BuildKit route as the user's image (buildkit-build.ts), so one builder serves the session. */
async function buildWithBuildkit(docker: Dockerode, buildkit: DevLayerBuildkit, build: LayerBuild): Promise<void> {
  // That route reads a directory: the supervisor's files and the Dockerfile, written out.
  const dir = await mkdtemp(join(tmpdir(), "mlkube-dev-layer-"));
  try {
    for (const [name, content] of build.files) {
      await writeFile(join(dir, name), content, { mode: FILE_MODE });
      await utimes(join(dir, name), FILE_TIME, FILE_TIME);
    }
    await writeFile(join(dir, "Dockerfile"), build.dockerfile);
    const outcome = await runBuildkitBuild({
      cli: buildkit.cli,
      env: buildkit.env,
      contextDir: dir,
      dockerfile: join(dir, "Dockerfile"),
      buildArgs: {},
      labels: build.labels,
      secrets: [],
      signal: build.signal,
    });
    if (!outcome.imageId) {
      const failure = buildkitFailure({
        reader: outcome.reader,
        outputOf: outcome.outputOf,
        instructions: checkDockerfile(build.dockerfile, "Dockerfile", { supported: true }),
        dockerfileText: build.dockerfile,
        dockerfilePath: "the dev layer's Dockerfile",
        contextPath: "the supervisor's files",
        mask: (text) => text,
      });
      throw new UserError("build", `Adding the restart supervisor layer (${build.reference}) failed: ${failure.message}`, {
        details: failure.details,
        hint: FAILED_HINT,
        cause: failure,
      });
    }
    const [repo, tag] = splitReference(build.reference);
    await docker.getImage(outcome.imageId).tag({ repo, tag });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Engine API's classic builder: where mlkube builds the user's image with it too. */
async function buildWithClassicBuilder(docker: Dockerode, build: LayerBuild): Promise<void> {
  const context = supervisorContext(build.files, build.dockerfile);
  try {
    const stream = (await docker.buildImage(context, {
      t: build.reference,
      labels: build.labels,
      rm: true,
      forcerm: true,
      version: "1",
      abortSignal: build.signal,
    } as Dockerode.ImageBuildOptions)) as NodeJS.ReadableStream;
    await followBuild(docker, stream, build.reference);
  } finally {
    context.destroy();
  }
}

/** The classic builder's context: the supervisor's files and the Dockerfile, as a tar stream. */
function supervisorContext(files: ReadonlyMap<string, Buffer>, dockerfile: string): PassThrough {
  const pack = tarPack();
  const owner = { mtime: FILE_TIME, uid: 0, gid: 0, uname: "root", gname: "root" };
  for (const [name, content] of files) pack.entry({ name, mode: FILE_MODE, ...owner }, content);
  pack.entry({ name: "Dockerfile", mode: 0o644, ...owner }, dockerfile);
  pack.finalize();
  // A Node stream for dockerode (tar-stream's is a streamx one).
  const context = new PassThrough();
  pack.on("error", (error: Error) => context.destroy(error));
  context.on("close", () => pack.destroy());
  pack.pipe(context);
  return context;
}

/** `localhost:5001/iris:abc` → [`localhost:5001/iris`, `abc`]: the tag follows the last colon after the last slash. */
function splitReference(reference: string): [string, string] {
  const colon = reference.lastIndexOf(":");
  return colon > reference.lastIndexOf("/") ? [reference.slice(0, colon), reference.slice(colon + 1)] : [reference, "latest"];
}

/**
 * The dev layer's Dockerfile. ENTRYPOINT is the supervisor followed by the original ENTRYPOINT,
 * and CMD stays the original CMD, so `docker run IMAGE ARGS` and a pod's `args:` still replace
 * just the CMD, as they would on the production image. Exec form is JSON, which the Dockerfile
 * parser reads as such (no variable expansion in ENTRYPOINT/CMD).
 */
export function devLayerDockerfile(
  from: string,
  entrypoint: readonly string[],
  cmd: readonly string[],
  settings: { writableDirs: readonly string[]; restart: RestartPolicy; user: string } = { writableDirs: [], restart: "auto", user: "" },
): string {
  if (entrypoint.length === 0 && cmd.length === 0) {
    throw new UserError("dockerfile", "The image has neither ENTRYPOINT nor CMD, so there is no server for the dev image's supervisor to run.", {
      hint: 'Add the command that starts the server to the Dockerfile, e.g. CMD ["python3", "app.py"].',
    });
  }
  const lines = [
    `FROM ${from}`,
    `COPY ${SUPERVISOR_FILES.join(" ")} ${SUPERVISOR_DIR}/`,
    ...writableDirLines(settings.writableDirs, settings.user),
    ...(settings.restart === "auto" ? [] : [`ENV ${RESTART_POLICY_ENV}=${settings.restart}`]),
    `ENTRYPOINT ${JSON.stringify(["/bin/sh", `${SUPERVISOR_DIR}/start.sh`, ...entrypoint])}`,
  ];
  // A Dockerfile that sets ENTRYPOINT resets the inherited CMD: carry it over explicitly.
  if (cmd.length > 0) lines.push(`CMD ${JSON.stringify(cmd)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * A non-root image user gets the sync destinations (and the directories under them): as root for
 * one RUN, then back to the user. Paths travel as JSON exec-form arguments, never through a shell string.
 */
function writableDirLines(dirs: readonly string[], user: string): string[] {
  if (dirs.length === 0 || user === "" || user === "root" || user === "0" || user.startsWith("0:") || user.startsWith("root:")) return [];
  const script = 'owner="$1"; shift; for dir in "$@"; do mkdir -p "$dir" && find "$dir" -type d -exec chown "$owner" {} +; done';
  return ["USER root", `RUN ${JSON.stringify(["/bin/sh", "-c", script, "sh", user, ...dirs])}`, `USER ${user}`];
}

/** `<base tag>-live-<12 hex>`: the digest covers the base image, the supervisor's files and the layer's settings. */
export function devLayerTag(
  base: DevLayerBase,
  files: ReadonlyMap<string, Buffer>,
  settings: { writableDirs: readonly string[]; restart: RestartPolicy } = { writableDirs: [], restart: "auto" },
): string {
  const hash = createHash("sha256")
    .update(`base\0${base.imageId}\n`)
    .update(`settings\0${JSON.stringify(settings)}\n`);
  for (const [name, content] of files) hash.update(`${name}\0`).update(content).update("\n");
  return `${base.tag}-live-${hash.digest("hex").slice(0, 12)}`;
}

async function readSupervisorFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of SUPERVISOR_FILES) files.set(name, await readFile(join(SUPERVISOR_SOURCE_DIR, name)));
  return files;
}

function followBuild(docker: Dockerode, stream: NodeJS.ReadableStream, reference: string): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string; errorDetail?: { message?: string }; stream?: string }[]) => {
      const failed = output.find((message) => message.error || message.errorDetail);
      if (!error && !failed) return resolve();
      const engineMessage = failed?.errorDetail?.message ?? failed?.error ?? error?.message ?? "unknown error";
      const recent = output
        .flatMap((message) => (message.stream ?? "").split("\n"))
        .filter((line) => line.trim() !== "")
        .slice(-10);
      reject(
        new UserError("build", `Adding the restart supervisor layer (${reference}) failed: ${engineMessage}`, {
          details: recent,
          hint: FAILED_HINT,
          cause: error ?? undefined,
        }),
      );
    });
  });
}

async function imageId(docker: Dockerode, reference: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(reference).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

function asList(value: string | string[] | null | undefined): string[] {
  if (Array.isArray(value)) return value;
  return value ? [value] : [];
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new UserError("cancelled", "The dev image build was cancelled.");
}
