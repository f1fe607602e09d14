import { describe, expect, it } from "vitest";
import { imagesToPrune, type BuiltImage } from "../../src/core/image-pruning.js";

const REPO = "localhost:5001/iris";
const MB = 1024 * 1024;
let clock = 0;

/** An image mlkube built for the iris project, newer than the one before. */
function built(tag: string, change: Partial<BuiltImage> = {}): BuiltImage {
  clock += 1000;
  return {
    reference: `${REPO}:${tag}`,
    imageId: `sha256:${tag.padEnd(64, "0").slice(0, 64)}`,
    labels: { "dev.mlkube.managed": "true", "dev.mlkube.model": "iris" },
    created: clock,
    sizeBytes: 100 * MB,
    ...change,
  };
}

const tag = (n: number) => n.toString(16).padStart(16, "a");
const tags = (images: readonly BuiltImage[]) => images.map((image) => image.reference.slice(REPO.length + 1));

describe("imagesToPrune", () => {
  it("keeps the newest few and prunes the rest, saying how much that reclaims at most", () => {
    const images = [1, 2, 3, 4, 5, 6].map((n) => built(tag(n)));
    const decision = imagesToPrune(images, { model: "iris", repository: REPO, running: [], keep: 3 });
    expect(tags(decision.kept)).toEqual([tag(6), tag(5), tag(4)]);
    expect(tags(decision.prune)).toEqual([tag(3), tag(2), tag(1)]);
    expect(decision.reclaimableBytes).toBe(300 * MB);
  });

  it("never prunes the running image, however old, by reference or by image ID", () => {
    const images = [1, 2, 3, 4, 5].map((n) => built(tag(n)));
    const byReference = imagesToPrune(images, { model: "iris", repository: REPO, running: [`${REPO}:${tag(1)}`], keep: 2 });
    expect(tags(byReference.prune)).toEqual([tag(3), tag(2)]);
    expect(tags(byReference.kept)).toContain(tag(1));
    // A pod's status names the image by ID (and another registry name) as often as by tag.
    const byId = imagesToPrune(images, { model: "iris", repository: REPO, running: [images[1]!.imageId], keep: 0 });
    expect(tags(byId.kept)).toEqual([tag(2)]);
    expect(byId.prune).toHaveLength(4);
  });

  it("keeps the base of a running dev layer, which the next live sync builds on", () => {
    const base = built(tag(1));
    const layer = built(`${tag(1)}-live-0123456789ab`, { labels: { "dev.mlkube.managed": "true", "dev.mlkube.live": "true" } });
    const images = [base, layer, built(tag(2)), built(tag(3))];
    const decision = imagesToPrune(images, { model: "iris", repository: REPO, running: [layer.reference], keep: 1 });
    expect(tags(decision.kept)).toEqual([tag(3), layer.reference.slice(REPO.length + 1), tag(1)]);
    expect(tags(decision.prune)).toEqual([tag(2)]);
  });

  it("never touches another project's images, images mlkube did not build, or tags a person chose", () => {
    const images = [
      built(tag(1), { labels: { "dev.mlkube.managed": "true", "dev.mlkube.model": "churn" } }),
      built(tag(2), { reference: `localhost:5001/churn:${tag(2)}` }),
      built(tag(3), { labels: {} }),
      built("latest"),
      built("v1.2"),
      built(tag(4).slice(1)),
    ];
    const decision = imagesToPrune(images, { model: "iris", repository: REPO, running: [], keep: 0 });
    expect(decision.prune).toEqual([]);
    expect(decision.reclaimableBytes).toBe(0);
  });

  it("knows Docker Hub's implicit names as the same repository", () => {
    const images = [1, 2].map((n) => built(tag(n), { reference: `docker.io/library/iris:${tag(n)}` }));
    expect(imagesToPrune(images, { model: "iris", repository: "iris", running: [], keep: 1 }).prune).toHaveLength(1);
  });

  it("keeps three by default", () => {
    const images = [1, 2, 3, 4].map((n) => built(tag(n)));
    expect(tags(imagesToPrune(images, { model: "iris", repository: REPO, running: [] }).prune)).toEqual([tag(1)]);
  });
});
