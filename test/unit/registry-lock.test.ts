import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eligibleBlobs } from "../../src/adapters/registry/prune-registry.js";
import { unlessPushing, whilePushing } from "../../src/adapters/registry/registry-lock.js";

/** A pid no process has (pid_max is at most 2^22 on Linux). */
const DEAD_PID = 4_194_305;

describe("pushes and the registry's garbage collection never overlap", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlkube-registry-lock-"));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  it("does not collect while a push runs, and collects once it is done", async () => {
    let finish!: () => void;
    const push = whilePushing(dir, () => new Promise<void>((resolve) => (finish = resolve)));
    expect(await unlessPushing(dir, async () => "collected")).toBeUndefined();
    finish();
    await push;
    expect(await unlessPushing(dir, async () => "collected")).toBe("collected");
    expect(await readdir(dir)).toEqual([]);
  });

  it("holds a push back until a running collection has finished", async () => {
    vi.useFakeTimers(); // a held-back push looks again every 100 ms
    const order: string[] = [];
    let finishCollection!: () => void;
    const collection = unlessPushing(dir, async () => {
      order.push("collect start");
      await new Promise<void>((resolve) => (finishCollection = resolve));
      order.push("collect end");
    });
    await vi.advanceTimersByTimeAsync(20);
    const push = whilePushing(dir, async () => void order.push("push"));
    await vi.advanceTimersByTimeAsync(250);
    expect(order).toEqual(["collect start"]);
    finishCollection();
    await vi.advanceTimersByTimeAsync(100); // the push's next look
    await Promise.all([collection, push]);
    expect(order).toEqual(["collect start", "collect end", "push"]);
  });

  it("ignores markers and locks left by processes that died", async () => {
    await writeFile(join(dir, `push-${DEAD_PID}-1`), String(DEAD_PID));
    expect(await unlessPushing(dir, async () => "collected")).toBe("collected");
    await mkdir(join(dir, "gc"));
    await writeFile(join(dir, "gc", "pid"), String(DEAD_PID));
    expect(await whilePushing(dir, async () => "pushed")).toBe("pushed");
    expect(await unlessPushing(dir, async () => "collected")).toBe("collected");
  });

  it("gives up waiting when the push is cancelled", async () => {
    vi.useFakeTimers();
    const collection = unlessPushing(dir, () => new Promise((resolve) => setTimeout(resolve, 1_000)));
    await vi.advanceTimersByTimeAsync(20);
    // Cancelled after 150 ms, as AbortSignal.timeout(150) would (its timer is not one vitest fakes).
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new DOMException("The operation timed out.", "TimeoutError")), 150);
    const gaveUp = expect(whilePushing(dir, async () => "pushed", cancel.signal)).rejects.toThrow(/timed? ?out|abort/i);
    await vi.advanceTimersByTimeAsync(1_000); // the collection ends: a push still waiting would run now
    await gaveUp;
    await collection;
  });
});

describe("what the registry's garbage collector freed", () => {
  it("reads the blobs it lists as eligible for deletion (distribution 2.8's output)", () => {
    // Recorded from `registry garbage-collect` (Debian's docker-registry 2.8.2) after one manifest was deleted.
    const output = [
      "t",
      "t: marking manifest sha256:0989e79e035a43c96ca76d751fd52913b041790fab7803883d62f218ad1bf265 ",
      "t: marking blob sha256:e0341f9cbd381e8c220799ce20941c496dbecec4615d97c31b2b99f955092bcd",
      "",
      "3 blobs marked, 3 blobs and 0 manifests eligible for deletion",
      "blob eligible for deletion: sha256:a8628f1920339c9226be0f7a0a46a334c7712bf2d9fb109f51b78e33793a35ad",
      "blob eligible for deletion: sha256:6279727a5836bb77aef98b49b66ba7f9691a23866edb25fff28d01748b7ac86c",
      "",
    ].join("\n");
    expect(eligibleBlobs(output)).toEqual([
      "sha256:a8628f1920339c9226be0f7a0a46a334c7712bf2d9fb109f51b78e33793a35ad",
      "sha256:6279727a5836bb77aef98b49b66ba7f9691a23866edb25fff28d01748b7ac86c",
    ]);
  });
});
