import { stringify } from "yaml";
import type { ClusterStep } from "../adapters/cluster/provider.js";
import { createStepPrinter } from "../ui/step-printer.js";
import { describeChoice, providerFor, type ClusterCommandOptions } from "./cluster-options.js";
import { kindOffer } from "./kind-offer.js";

/**
 * `mlkube up`: create what is missing, say what already exists; `--dry-run` prints the plan. A
 * missing kind is offered (installed with --yes) like dev does, except with --dry-run, which
 * changes nothing.
 */
export async function runUpCommand(dir: string, options: ClusterCommandOptions & { dryRun?: boolean; yes?: boolean }): Promise<number> {
  const provider = await providerFor(dir, options, options.dryRun ? undefined : kindOffer("up", options.yes === true));
  const out = process.stdout;
  out.write(`${describeChoice(provider)}\n`);

  if (options.dryRun) {
    const plan = await provider.plan();
    if (options.json) {
      out.write(`${JSON.stringify(plan)}\n`);
      return 0;
    }
    if (plan.clusterConfig) out.write(`\nkind cluster configuration:\n${plan.clusterConfig}`);
    if (plan.startFlags) out.write(`\nminikube ${plan.startFlags.join(" ")}\n`);
    if (plan.registry) out.write(`\nregistry:\n${stringify(plan.registry).replace(/^/gm, "  ").trimEnd()}\n`);
    out.write(`\nsteps (nothing was done):\n${plan.steps.map((step, index) => `  ${index + 1}. ${step}`).join("\n")}\n`);
    return 0;
  }

  const started = performance.now();
  const steps: ClusterStep[] = [];
  const printer = createStepPrinter(process.stderr, started);
  // up makes the cluster as configured: a registry that cannot start is an error here, not a fallback.
  const ready = await provider.ensure(
    (step) => {
      steps.push(step);
      printer(step);
    },
    { withoutRegistry: "fail" },
  );
  printer.finish();
  const changed = steps.some((step) => step.status === "done");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  out.write(changed ? `ready in ${seconds} s\n` : `nothing to do: the cluster and everything mlkube needs already exist\n`);
  out.write(`context: ${provider.choice.context}\nimage delivery: ${ready.delivery.path} (${ready.delivery.reason})\n`);
  return 0;
}
