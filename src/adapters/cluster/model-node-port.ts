/**
 * The model's NodePort on the cluster at hand: chosen (core/node-port-choice.ts) from the Services
 * the cluster has and the ports model directories remember, and checked before anything is applied.
 */
import { existsSync } from "node:fs";
import type { ResolvedConfig } from "../../config/load.js";
import { chooseNodePort, describeClaim, freeNodePorts, nodePortConflicts, type NodePortChoice, type NodePortClaim } from "../../core/node-port-choice.js";
import { UserError } from "../../errors.js";
import { PRUNE_LABEL } from "../../manifests/labels.js";
import type { ModelMemory } from "./model-memory.js";

interface ModelNodePortInput {
  config: Pick<ResolvedConfig, "dir" | "name" | "namespace" | "service">;
  claims: readonly NodePortClaim[];
  /** NodePorts the cluster maps to this machine (ReadyCluster.mappedNodePorts). */
  mapped: readonly number[];
  memory: ModelMemory;
}

/** Chooses the model's NodePort and, when mlkube chose it, remembers it for the model directory. */
export async function chooseModelNodePort({ config, claims, mapped, memory }: ModelNodePortInput): Promise<NodePortChoice> {
  const remembered = await memory.read();
  const choice = chooseNodePort({
    model: { namespace: config.namespace, name: config.name },
    configured: config.service.pinned ? config.service.nodePort : undefined,
    remembered: remembered[config.dir]?.nodePort,
    // A directory that is gone (a deleted checkout, a test's copy) no longer keeps its port from others.
    rememberedByOthers: Object.entries(remembered).flatMap(([dir, model]) =>
      dir !== config.dir && model.nodePort !== undefined && existsSync(dir) ? [model.nodePort] : [],
    ),
    mapped,
    claims,
  });
  if (!config.service.pinned) await memory.update(config.dir, { nodePort: choice.port });
  return choice;
}

/**
 * Refuses, before any apply, a rendered Service whose NodePort another Service holds: the API
 * server would answer "provided port is already allocated", which names neither the holder nor a way out.
 */
export function assertNodePortsFree(planned: readonly NodePortClaim[], input: Omit<ModelNodePortInput, "memory">): void {
  const conflict = nodePortConflicts(planned, input.claims)[0];
  if (!conflict) return;
  const { config } = input;
  const free = freeNodePorts(input.claims, input.mapped);
  const freeNow = free.length > 0 ? ` (free now: ${free.join(", ")})` : "";
  const fromConfig = config.service.pinned && conflict.port === config.service.nodePort;
  const move = fromConfig
    ? `Remove service.nodePort from mlkube.yaml so mlkube picks a free port${freeNow}, or set it to a free one`
    : `Give ${conflict.planned} another nodePort in your manifests${freeNow}`;
  const holder = conflict.holder;
  const remove = holder.model
    ? `kubectl delete deployment,service -n ${holder.namespace} -l ${PRUNE_LABEL}=${holder.model}`
    : `kubectl delete service ${holder.service} -n ${holder.namespace}`;
  throw new UserError(
    "cluster",
    `NodePort ${conflict.port} of Service ${conflict.planned} is already taken by ${describeClaim(holder)}; the cluster would refuse it ("provided port is already allocated"). Nothing was applied.`,
    { hint: `${move}; or, if ${holder.namespace}/${holder.service} is no longer needed, delete it: '${remove}'.` },
  );
}
