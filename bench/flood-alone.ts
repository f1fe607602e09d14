/**
 * The log flood alone, for chasing its cost: `npx tsx bench/flood-alone.ts` sets up as the bench
 * does (lock, simulator, `mlkube up` on a copy of the model), runs one flood, prints its figures as
 * JSON and tears down. FLOOD_SECONDS (15) sets its length; FLOOD_NODE_ARGS passes flags to mlkube's
 * node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--max-semi-space-size=4". Not part of `npm run bench`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mlkube } from "../test/e2e/support/cluster.js";
import { acquireLock, releaseLock } from "../test/support/e2e-lock.js";
import { startSimulator, stopSimulator } from "../test/support/sim-session.js";
import { logFlood } from "./flood.js";
import { modelCopy } from "./workspace.js";

const say = (line: string) => void process.stderr.write(`flood-alone ${new Date().toISOString().slice(11, 19)} ${line}\n`);
const seconds = Number(process.env.FLOOD_SECONDS ?? 15);
const nodeArgs = (process.env.FLOOD_NODE_ARGS ?? "").split(" ").filter(Boolean);

await acquireLock(say);
process.env.MLKUBE_HOME = mkdtempSync(join(tmpdir(), "mlkube-flood-home-"));
let copy: Awaited<ReturnType<typeof modelCopy>> | undefined;
try {
  startSimulator();
  copy = await modelCopy(`flood-${Date.now().toString(36)}`);
  const up = await mlkube(["up", copy.dir]);
  if (up.code !== 0) throw new Error(up.stdout + up.stderr);
  console.log(JSON.stringify(await logFlood(copy.dir, 5000, seconds, say, nodeArgs), null, 1));
} finally {
  if (copy) await mlkube(["down", "--yes", "--all", copy.dir]).catch(() => undefined);
  stopSimulator("ignore");
  releaseLock();
}
