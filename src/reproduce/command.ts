import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { selectProvider, type ClusterFlags } from "../adapters/cluster/select.js";
import { connectDocker, ensureDockerReachable } from "../adapters/docker/client.js";
import { applyWithPrune, deleteModelObjects } from "../adapters/kube/apply.js";
import { displayPath } from "../config/errors.js";
import { loadConfig, parseBuildArgs } from "../config/load.js";
import { parseRecordedRequests, type SmokeCase } from "../core/smoke-cases.js";
import { UserError } from "../errors.js";
import { PRUNE_LABEL } from "../manifests/labels.js";
import { loadManifests } from "../manifests/load.js";
import { createStepPrinter } from "../ui/step-printer.js";
import { changesText, jsonPlan } from "./changes.js";
import { configForManifests } from "./config.js";
import { dryRun } from "./dry-run.js";
import { clusterCapacity, existingSecretNames, machineCapacity } from "./observe.js";
import { planReproduction, type ReproducePlan } from "./plan.js";
import { exitCodeOf, formatReport } from "./report.js";
import { buildAndDeliver, runAndObserve } from "./run.js";

interface ReproduceCommandOptions extends ClusterFlags {
  model?: string | undefined;
  requests?: string | undefined;
  dryRun?: boolean | undefined;
  json?: boolean | undefined;
  includeSecrets?: boolean | undefined;
  buildArg?: string[] | undefined;
  cleanup?: boolean | undefined;
}

/**
 * `mlkube reproduce FILES...`: production manifests on the local cluster, as faithfully as it
 * allows, then the recorded requests replayed against them. Progress goes to stderr; stdout
 * carries what was changed and the report (or, with --json, one object). Exit 1 when the rollout
 * fails or a replayed response differs from its recording.
 */
export async function runReproduceCommand(
  files: string[],
  options: ReproduceCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const paths = await manifestPaths(files);
  // Read the requests before anything else, so a bad line fails fast and touches nothing.
  const cases = options.requests === undefined ? undefined : await loadRequests(options.requests);
  const config =
    options.model !== undefined
      ? await loadConfig(options.model, { buildArgs: parseBuildArgs(options.buildArg ?? []) })
      : configForManifests(
          (await loadManifests(paths)).map((document) => document.value),
          process.cwd(),
        );
  if (options.dryRun) return dryRun(paths, config, options, out);
  // Invalid manifests, or a model mlkube cannot watch, must not cost a cluster creation or a build.
  const preflight = await planReproduction(config, { files: paths, includeSecrets: options.includeSecrets, capacity: machineCapacity() });
  assertRollsOut(preflight);

  const docker = connectDocker();
  await ensureDockerReachable(docker);
  const provider = await selectProvider(config, options, { docker });
  const printer = createStepPrinter(err);
  const cluster = await provider.ensure(printer);
  printer.finish();
  const progress = (line: string) => err.write(`${line}\n`);
  // What this user may not read is said once, however often the read comes up.
  const noted = new Set<string>();
  const note = (line: string) => {
    if (!noted.has(line)) progress(line);
    noted.add(line);
  };

  const image = options.model === undefined ? undefined : await buildAndDeliver(cluster, config, progress);
  const existingSecrets = await existingSecretNames(cluster.kube, config.namespace, config.name);
  if (existingSecrets === "unknown")
    note(
      `this user may not list Secrets in namespace ${config.namespace}: no placeholder Secret is made, and those the pods need are used as the cluster has them`,
    );
  const plan = await planReproduction(config, {
    files: paths,
    image,
    includeSecrets: options.includeSecrets,
    capacity: await clusterCapacity(cluster.kube, preflight.model, { machine: machineCapacity(), note }),
    existingSecrets,
  });
  if (!options.json) out.write(changesText(plan, image === undefined));

  progress(`applying ${plan.objects.length} object(s) to context ${cluster.choice.context}`);
  await applyWithPrune(cluster.kube, plan.objects as never, { label: PRUNE_LABEL, model: config.name });
  const report = await runAndObserve(cluster, config, plan, cases, progress, note);
  out.write(options.json ? `${JSON.stringify({ ...jsonPlan(plan), ...report, exitCode: exitCodeOf(report) })}\n` : formatReport(report));

  if (options.cleanup) {
    const deleted = await deleteModelObjects(cluster.kube, config.namespace, { label: PRUNE_LABEL, model: config.name });
    progress(`cleanup: deleted ${deleted.join(", ") || "nothing"}`);
  } else if (!options.json) {
    out.write(
      `\nThe reproduction keeps running in context ${cluster.choice.context} (namespace ${plan.model.namespace}); --cleanup removes it after the report.\n`,
    );
  }
  return exitCodeOf(report);
}

function assertRollsOut(plan: ReproducePlan): void {
  if (plan.model.kind === "Deployment") return;
  throw new UserError("manifest", `The model runs in ${plan.model.kind} ${plan.model.name}; mlkube reproduce rolls out and watches Deployments only.`, {
    hint: "Reproduce with a Deployment of the same pod template, or use --dry-run to see the substitutions.",
  });
}

/** Checked here so that the fix names reproduce's arguments (load.ts speaks of mlkube.yaml and --from). */
async function manifestPaths(files: readonly string[]): Promise<string[]> {
  for (const file of files) {
    if (!(await stat(file).catch(() => undefined))) {
      throw new UserError("usage", `${displayPath(file)} does not exist.`, {
        hint: "Pass the production manifests: YAML files or directories of them, e.g. 'mlkube reproduce k8s/production/ --model .'.",
      });
    }
  }
  return files.map((file) => resolve(file));
}

async function loadRequests(file: string): Promise<SmokeCase[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EISDIR") throw cause;
    throw new UserError("usage", `--requests ${displayPath(file)} ${code === "ENOENT" ? "does not exist" : "is a directory"}.`, {
      hint: 'Pass a JSON Lines file of recorded requests, one per line: {"request": {"method": "POST", "path": "/predict", "body": {...}}, "response": {"status": 200, "body": {...}}}',
      cause,
    });
  }
  const cases = parseRecordedRequests(text, displayPath(file));
  if (cases.length === 0)
    throw new UserError("usage", `--requests ${displayPath(file)} holds no requests.`, { hint: "Add one recorded request per line, or leave out --requests." });
  return cases;
}
