/**
 * One soak sample: the mlkube process from outside (/proc: resident set, open descriptors, child
 * processes), from inside (its `diagnostics` events: heap, active resources, listeners) and the
 * Docker engine's objects (dangling images, build cache, this model's images).
 */
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import type { DevProcess } from "../test/e2e/support/dev-process.js";
import { MANAGED_LABEL } from "../src/core/image-pruning.js";
import { imageName, repositoryOf } from "../src/manifests/image-ref.js";
import { memoryMb, processTree } from "./procfs.js";
import { round } from "./stats.js";

/** How often `mlkube dev` prints its diagnostics during the soak (MLKUBE_DIAGNOSTICS_MS). */
export const DIAGNOSTICS_MS = 500;
/**
 * The heap saw-tooths between garbage collections (the log flow makes garbage all the time): the
 * lowest heapUsed over this window approximates the live heap after a collection. The last value is
 * kept beside it.
 */
const HEAP_WINDOW_MS = 5_000;

export interface DockerObjects {
  danglingImages: number;
  buildCacheBytes: number;
  /** All image layers on the engine's disk (`LayersSize`): what pruning gives back shows here. */
  imageLayersBytes: number;
  /**
   * Images mlkube built for this model that the engine holds, and their tags: both forms of the
   * name count, the local one (`iris-sklearn:<tag>`) and the registry's (`localhost:5001/...`).
   */
  modelImages: number;
  modelImageTags: number;
}

export interface SoakSample extends DockerObjects {
  iteration: number;
  elapsedS: number;
  rssMb: number;
  heapUsedMb: number | null;
  heapUsedLastMb: number | null;
  /** The heap's reserved size and the memory outside it (Buffers, WebAssembly), at the window's end: where a resident set that outgrows the heap went. */
  heapTotalMb: number | null;
  externalMb: number | null;
  fds: number;
  /** Active resources (sockets, timers, watchers, ...) summed; by type in `activeResources`. */
  handles: number | null;
  activeResources: Record<string, number>;
  listeners: number | null;
  childProcesses: number;
  /** Log lines mlkube had printed so far: the logs kept flowing. */
  logLines: number;
}

interface Diagnostics {
  heapUsedMb: number;
  heapTotalMb?: number;
  externalMb?: number;
  activeResources: Record<string, number>;
  listeners: number;
}

export async function dockerObjects(docker: Dockerode, repository: string | undefined): Promise<DockerObjects> {
  const dangling = await docker.listImages({ filters: JSON.stringify({ dangling: ["true"] }) });
  const df = (await docker.df()) as { LayersSize?: number; BuildCache?: { Size?: number }[] | null };
  const built = await docker.listImages({ filters: JSON.stringify({ label: [`${MANAGED_LABEL}=true`] }) });
  const ofModel = (tag: string) => repository !== undefined && imageName(repositoryOf(tag)) === imageName(repository);
  const modelTags = built.map((image) => (image.RepoTags ?? []).filter(ofModel).length);
  const buildCacheBytes = (df.BuildCache ?? []).reduce((sum, entry) => sum + (entry.Size ?? 0), 0);
  return {
    danglingImages: dangling.length,
    buildCacheBytes,
    imageLayersBytes: df.LayersSize ?? 0,
    modelImages: modelTags.filter((tags) => tags > 0).length,
    modelImageTags: modelTags.reduce((sum, tags) => sum + tags, 0),
  };
}

/** Waits one heap window (the loop idle, the logs flowing), then reads everything at its end. */
export async function takeSample(
  dev: DevProcess,
  iteration: number,
  startedAt: number,
  docker: Dockerode,
  repository: string | undefined,
): Promise<SoakSample> {
  const from = dev.mark();
  await sleep(HEAP_WINDOW_MS);
  const diagnostics = dev.events.slice(from).filter((event) => event.type === "diagnostics") as unknown as Diagnostics[];
  const latest = diagnostics.at(-1);
  const pid = dev.pid;
  return {
    iteration,
    elapsedS: Math.round((Date.now() - startedAt) / 1000),
    rssMb: round(memoryMb(pid).rss, 1)!,
    heapUsedMb: diagnostics.length > 0 ? Math.min(...diagnostics.map((sample) => sample.heapUsedMb)) : null,
    heapUsedLastMb: latest?.heapUsedMb ?? null,
    heapTotalMb: latest?.heapTotalMb ?? null,
    externalMb: latest?.externalMb ?? null,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    handles: latest ? Object.values(latest.activeResources).reduce((sum, count) => sum + count, 0) : null,
    activeResources: latest?.activeResources ?? {},
    listeners: latest?.listeners ?? null,
    childProcesses: processTree(pid).length - 1,
    logLines: dev.events.filter((event) => event.type === "log").length,
    ...(await dockerObjects(docker, repository)),
  };
}
