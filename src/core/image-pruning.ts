/**
 * Which of the images mlkube built may go, so a day of edits does not fill the disk: every
 * iteration builds a new content-tagged image (and, with live update, a dev layer on top), and
 * nothing else ever removes them.
 *
 * An image may be pruned only when all of these hold:
 * - mlkube built it (the `dev.mlkube.managed` label), with a content tag (16 hex digits, or a dev
 *   layer's `<tag>-live-<12 hex>`): a tag a person chose (`latest`, `v1.2`) is never touched;
 * - it belongs to this project: its repository, and its `dev.mlkube.model` label when it has one
 *   (a dev layer has none: the repository says whose it is);
 * - no pod runs it, by reference or by image ID, and it is not the base of a running dev layer
 *   (the next live sync builds on it);
 * - it is not among the `keep` newest of the project's content-tagged images.
 */
import { repositoryOf, sameRepository } from "../manifests/image-ref.js";

export const MANAGED_LABEL = "dev.mlkube.managed";
const MODEL_LABEL = "dev.mlkube.model";
/** The newest images kept besides the running ones: a rollback or a quick revert is a cache hit. */
export const DEFAULT_KEEP = 3;

const CONTENT_TAG = /^([0-9a-f]{16})(?:-live-[0-9a-f]{12})?$/;

export interface BuiltImage {
  /** `repository:tag` */
  reference: string;
  imageId: string;
  labels: Readonly<Record<string, string>>;
  /** When it was built, ms since the epoch. */
  created: number;
  sizeBytes: number;
}

export interface PruneScope {
  /** The project's model name (mlkube.yaml `name`). */
  model: string;
  /** The project's image repository (mlkube.yaml `image.repository`, or its registry form). */
  repository: string;
  /** What the pods run now, any project's: references and image IDs. */
  running: readonly string[];
  keep?: number | undefined;
}

interface PruneDecision {
  prune: BuiltImage[];
  /** The project's content-tagged images that stay, newest first. */
  kept: BuiltImage[];
  /** The pruned images' sizes summed: an upper bound, as images share layers. */
  reclaimableBytes: number;
}

export function imagesToPrune(images: readonly BuiltImage[], scope: PruneScope): PruneDecision {
  const running = new Set(scope.running);
  // A running dev layer `repo:<tag>-live-<hash>` needs its base `repo:<tag>` for the next sync.
  for (const reference of scope.running) {
    const base = /^(.*):([0-9a-f]{16})-live-[0-9a-f]{12}$/.exec(reference);
    if (base) running.add(`${base[1]}:${base[2]}`);
  }
  const ours = images.filter((image) => isOurs(image, scope)).sort((a, b) => b.created - a.created);
  const keep = Math.max(0, scope.keep ?? DEFAULT_KEEP);
  const prune: BuiltImage[] = [];
  const kept: BuiltImage[] = [];
  let newestKept = 0;
  for (const image of ours) {
    if (isRunning(image, running)) kept.push(image);
    else if (newestKept < keep) {
      kept.push(image);
      newestKept++;
    } else prune.push(image);
  }
  return { prune, kept, reclaimableBytes: prune.reduce((total, image) => total + image.sizeBytes, 0) };
}

function isRunning(image: BuiltImage, running: ReadonlySet<string>): boolean {
  return running.has(image.reference) || running.has(image.imageId);
}

function isOurs(image: BuiltImage, scope: PruneScope): boolean {
  if (image.labels[MANAGED_LABEL] !== "true") return false;
  const model = image.labels[MODEL_LABEL];
  if (model !== undefined && model !== scope.model) return false;
  const tag = tagOf(image.reference);
  return tag !== undefined && CONTENT_TAG.test(tag) && sameRepository(repositoryOf(image.reference), scope.repository);
}

function tagOf(reference: string): string | undefined {
  const repository = repositoryOf(reference);
  const rest = reference.split("@")[0]?.slice(repository.length) ?? "";
  return rest.startsWith(":") ? rest.slice(1) : undefined;
}
