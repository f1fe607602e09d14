import type { DoctorCheck } from "../../core/doctor.js";
import { connectionFailure } from "../connection-errors.js";
import { connectKube, ensureKubeReachable, kubeContexts, readKubeConfigIfPresent } from "../kube/client.js";
import type { ToolsFound } from "./tools.js";

/**
 * The current kube context and whether its API server answers. This is also where "nothing to
 * deploy to" fails: no kind, no minikube and no context that answers.
 */
export async function checkContext(tools: ToolsFound, timeoutMs = 3_000): Promise<DoctorCheck> {
  const canCreate = tools.kind || tools.minikube;
  const nothing = "nothing to run the model on: no kind, no minikube";
  const installFix = "mlkube doctor --fix   (installs kind, checksum verified)";
  let config;
  try {
    config = readKubeConfigIfPresent();
  } catch (error) {
    return { name: "context", status: "fail", detail: (error as Error).message, fix: "check $KUBECONFIG (or ~/.kube/config) with 'kubectl config view'" };
  }
  const current = kubeContexts(config).current;
  if (!config || !current) {
    if (canCreate) return { name: "context", status: "ok", detail: "no current context yet: 'mlkube up' creates a local cluster" };
    return { name: "context", status: "fail", detail: `${nothing}, and no kube context`, fix: installFix };
  }
  const clusterName = config.getContextObject(current)?.cluster;
  const server = (clusterName && config.getCluster(clusterName)?.server) || "(no server)";
  try {
    const version = await ensureKubeReachable(connectKube(current, config), timeoutMs);
    return { name: "context", status: "ok", detail: `${current} answers at ${server} (Kubernetes ${version})` };
  } catch (error) {
    const detail = `${current} does not answer at ${server} (${connectionFailure(error)?.code ?? (error as Error).message})`;
    if (!canCreate) return { name: "context", status: "fail", detail: `${nothing}, and ${detail}`, fix: installFix };
    return { name: "context", status: "warn", detail, fix: restartCommand(current) };
  }
}

function restartCommand(context: string): string {
  if (context.startsWith("kind-")) return `docker start ${context.slice("kind-".length)}-control-plane   (or 'mlkube up' if the cluster was deleted)`;
  if (context === "minikube") return "minikube start";
  return `kubectl --context ${context} cluster-info   (to see what is wrong with it)`;
}
