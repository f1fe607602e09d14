import { createInterface } from "node:readline/promises";
import { createdClusters, type CreatedClusters } from "../adapters/cluster/created-clusters.js";
import { carriesCreationMark, CREATION_MARK } from "../adapters/cluster/creation-mark.js";
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
  if (status.exists) await ensureCreatedByMlkube(record, kind, clusterName, provider.choice.context);
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

/**
 * mlkube deletes only clusters it created: those its record lists. When the record is damaged and
 * what can be read of it does not list the cluster, the creation mark mlkube wrote into the cluster
 * decides, and the user is told the record was unreadable; without the mark, deleting would be a guess.
 */
async function ensureCreatedByMlkube(record: CreatedClusters, kind: "kind" | "minikube", clusterName: string, context: string): Promise<void> {
  const found = await record.lookup(kind, clusterName);
  if (found.listed) return;
  const command = kind === "kind" ? `kind delete cluster --name ${clusterName}` : `minikube delete -p ${clusterName}`;
  if (!found.damage) {
    throw new UserError("cluster", `The ${kind} cluster '${clusterName}' was not created by mlkube, so mlkube leaves it alone.`, {
      hint: `Delete it yourself if you mean to: '${command}'.`,
    });
  }
  const where = `mlkube's record of the clusters it created, ${found.file}, is unreadable (${found.damage})`;
  if (await carriesCreationMark(context)) {
    process.stdout.write(
      `${where}; the ${kind} cluster '${clusterName}' carries mlkube's creation mark (ConfigMap ${CREATION_MARK.namespace}/${CREATION_MARK.name}), so it is mlkube's to delete.\n`,
    );
    return;
  }
  throw new UserError(
    "config",
    `${where}, and neither what can be read of it nor a mark in the cluster says mlkube created the ${kind} cluster '${clusterName}'.`,
    {
      hint: `Fix the file (a JSON list such as ["kind/mlkube"]) or delete it. To delete the cluster yourself: '${command}'.`,
    },
  );
}
