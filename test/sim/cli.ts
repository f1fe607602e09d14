/**
 * `npm run -s sim -- <command>`: prepares and removes the cluster simulator (test support only).
 *   up [--no-build]   builds the node and registry:2 images if missing, creates the state directory and
 *                     prints `export` lines for eval: PATH with the kind/minikube stand-ins first, and
 *                     KUBECONFIG / MINIKUBE_HOME inside the state directory, so a real ~/.kube/config
 *                     or ~/.minikube is never touched.
 *   env               prints the same export lines without building anything.
 *   status            lists the simulated clusters and whether their daemons run.
 *   down [--images]   removes everything the simulator started or created (images too with --images).
 * Progress goes to stderr so that stdout is only the export lines: eval "$(npm run -s sim -- up)".
 */
import { mkdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { isOurDaemon } from "./daemon-control.js";
import { simDown } from "./down.js";
import { ensureNodeImage, ensureRegistryImage } from "./images.js";
import { ensureEnginePki } from "./node/engine.js";
import { listClusters, loadDaemonInfo, SIM_DIR, simHome } from "./state.js";

const say = (line: string): void => void process.stderr.write(`sim: ${line}\n`);
const quote = (value: string): string => `'${value.replace(/'/g, "'\\''")}'`;

function exportLines(): string {
  const home = simHome();
  const bin = join(SIM_DIR, "bin");
  const values: [string, string][] = [
    ["MLKUBE_SIM_HOME", home],
    ["KUBECONFIG", join(home, "kubeconfig")],
    ["MINIKUBE_HOME", join(home, "minikube")],
  ];
  // PATH is extended in the caller's shell ("$PATH" expands at eval time), not replaced with the
  // PATH npm ran this script with.
  return `export PATH=${quote(bin)}"${delimiter}$PATH"\n${values.map(([name, value]) => `export ${name}=${quote(value)}\n`).join("")}`;
}

async function up(args: string[]): Promise<void> {
  const started = Date.now();
  if (!args.includes("--no-build")) {
    await ensureNodeImage(say);
    await ensureRegistryImage(say);
  }
  // The env vars point into the home: it must exist before anything is written there.
  process.env.MLKUBE_SIM_HOME = simHome();
  await mkdir(join(simHome(), "minikube"), { recursive: true });
  await ensureEnginePki();
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; state in ${simHome()}`);
  process.stdout.write(exportLines());
}

async function status(): Promise<void> {
  const clusters = await listClusters();
  if (clusters.length === 0) return void process.stdout.write(`no simulated clusters in ${simHome()}\n`);
  for (const cluster of clusters) {
    const daemon = await loadDaemonInfo(cluster.key);
    const state = daemon && isOurDaemon(daemon.pid) ? `running at ${daemon.url} (pid ${daemon.pid})` : "daemon not running";
    process.stdout.write(
      `${cluster.tool} ${cluster.name}: ${state}; nodes ${cluster.nodes.map((node) => `${node.container} ${node.ip} pods ${node.podCIDR}`).join(", ")}\n`,
    );
  }
}

async function down(args: string[]): Promise<void> {
  const report = await simDown({ images: args.includes("--images") });
  say(
    `stopped ${report.daemons} daemon(s)${report.forwards ? ` and ${report.forwards} tunnel forward(s)` : ""}; removed containers [${report.containers.join(", ")}], networks [${report.networks.join(", ")}], volumes [${report.volumes.join(", ")}]${report.images.length ? `, images [${report.images.join(", ")}]` : ""} and ${simHome()}`,
  );
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === "up") return up(args);
  if (command === "env") return void process.stdout.write(exportLines());
  if (command === "status") return status();
  if (command === "down") return down(args);
  process.stderr.write("usage: npm run -s sim -- up [--no-build] | env | status | down [--images]\n");
  process.exitCode = 2;
}

main().catch((error: unknown) => {
  say(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
