import { createInterface } from "node:readline/promises";
import { createdClusters } from "../adapters/cluster/created-clusters.js";
import { UserError } from "../errors.js";
import { createStepPrinter } from "../ui/step-printer.js";
import { describeChoice, providerFor, type ClusterCommandOptions } from "./cluster-options.js";

/** `mlkube down`: delete the cluster mlkube created (and the registry with --all). */
export async function runDownCommand(dir: string, options: ClusterCommandOptions & { all?: boolean; yes?: boolean }): Promise<number> {
  const provider = await providerFor(dir, options);
  const { kind, clusterName } = provider.choice;
  process.stdout.write(`${describeChoice(provider)}\n`);
  if (kind === "context") {
    process.stdout.write(`mlkube does not delete existing contexts it did not create; nothing to do.\n`);
    return 0;
  }
  const record = createdClusters();
  const status = await provider.status();
  if (status.exists && !(await record.has(kind, clusterName))) {
    const command = kind === "kind" ? `kind delete cluster --name ${clusterName}` : `minikube delete -p ${clusterName}`;
    throw new UserError("cluster", `The ${kind} cluster '${clusterName}' was not created by mlkube, so mlkube leaves it alone.`, { hint: `Delete it yourself if you mean to: '${command}'.` });
  }
  const what = `${kind} cluster '${clusterName}'${options.all ? " and the local registry" : ""}`;
  if (!options.yes && process.stdin.isTTY && process.stdout.isTTY) {
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await prompt.question(`Delete the ${what}? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stdout.write("nothing deleted\n");
      return 0;
    }
  }
  const printer = createStepPrinter(process.stderr);
  await provider.remove({ registry: options.all === true }, printer);
  printer.finish();
  await record.remove(kind, clusterName);
  return 0;
}
