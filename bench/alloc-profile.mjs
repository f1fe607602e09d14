// Where mlkube allocates, for chasing a flood's memory (issue #15). Two uses:
//
// 1. Loaded into mlkube with --import, it runs V8's sampling heap profiler from PROF_FROM to
//    PROF_TO seconds after start and writes the profile to PROF_OUT (/tmp/mlkube-alloc.heapprofile):
//      FLOOD_SECONDS=20 PROF_FROM=72 PROF_TO=87 FLOOD_NODE_ARGS="--import ./bench/alloc-profile.mjs" npx tsx bench/flood-alone.ts
//    Objects that garbage collections freed are counted too, so the profile shows the allocation
//    rate, not only what is alive at the end. PROF_MINOR=0 leaves out what minor GCs freed: what
//    is left is what outlived the young generation (what grows the heap until a major GC).
//    The window must end before mlkube does (flood-alone quits it a few seconds after the flood).
// 2. Run on its own, it prints the top functions by MB/s allocated (self, then inclusive):
//      node bench/alloc-profile.mjs [/tmp/mlkube-alloc.heapprofile] [window seconds]
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { fileURLToPath } from "node:url";

const OUT = process.env.PROF_OUT ?? "/tmp/mlkube-alloc.heapprofile";

function profileWindow() {
  const from = Number(process.env.PROF_FROM ?? 0) * 1000;
  const to = Number(process.env.PROF_TO ?? 60) * 1000;
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  setTimeout(async () => {
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.PROF_MINOR !== "0",
    });
    setTimeout(async () => {
      const { profile } = await post("HeapProfiler.stopSampling");
      writeFileSync(OUT, JSON.stringify(profile));
    }, to - from).unref();
  }, from).unref();
}

function report(file, seconds) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  const walk = (node, above) => {
    const frame = node.callFrame;
    const name = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop()}:${frame.lineNumber}`;
    total += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const path = new Set(above).add(name);
    for (const each of path) inclusive.set(each, (inclusive.get(each) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, path);
  };
  walk(profile.head, new Set());
  const rate = (bytes) => (bytes / 1e6 / seconds).toFixed(2).padStart(6);
  console.log(`${rate(total)} MB/s allocated in all`);
  for (const [title, sizes, count] of [
    ["self", self, 20],
    ["inclusive", inclusive, 30],
  ]) {
    console.log(`--- ${title}`);
    for (const [name, bytes] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${rate(bytes)} ${name}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) report(process.argv[2] ?? OUT, Number(process.argv[3] ?? 15));
else profileWindow();
