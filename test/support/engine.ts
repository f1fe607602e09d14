import Dockerode from "dockerode";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The Python + scikit-learn + Flask base that scripts/build-base-image.sh makes (nothing can be pulled here). */
export const BASE_IMAGE = process.env.MLKUBE_BASE_IMAGE ?? "mlkube-test/python-sklearn:bookworm-2";
export const REPO_ROOT = new URL("../..", import.meta.url).pathname;
export const FIXTURE_DIR = join(REPO_ROOT, "fixtures/iris-sklearn");

export const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });
/** The same engine for ImageBuilder: the API client and what points a docker CLI at it. */
export const engine = { client: docker, cliEnv: { DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_CONTEXT: undefined } };

/**
 * Whether the real engine (and the base image) can be used. On a developer machine without them the
 * engine suites are skipped; under CI=true a missing engine fails the run instead, so CI can never
 * pass by skipping.
 */
export async function engineAvailable(): Promise<boolean> {
  const problem = await engineProblem();
  if (problem && process.env.CI)
    throw new Error(`CI=true but ${problem}. .ci/run must start the engine (scripts/setup-engine.sh) and build the base image (scripts/build-base-image.sh).`);
  return problem === undefined;
}

async function engineProblem(): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch {
    return "the Docker engine at /var/run/docker.sock does not answer";
  }
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    return `the base image ${BASE_IMAGE} is missing`;
  }
  return undefined;
}

/** A private copy of a fixture, so tests can edit files freely. */
export async function copyFixture(source = FIXTURE_DIR): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), "mlkube-test-"));
  const dir = join(parent, "model");
  await cp(source, dir, { recursive: true });
  return { dir, cleanup: () => rm(parent, { recursive: true, force: true }) };
}

/** Removes every tag of a repository the test created (the layer cache stays for the next run). */
export async function removeRepository(repository: string): Promise<void> {
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [repository] }) });
  for (const image of images) {
    for (const tag of image.RepoTags ?? []) {
      if (tag.startsWith(`${repository}:`))
        await docker
          .getImage(tag)
          .remove()
          .catch(() => undefined);
    }
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
