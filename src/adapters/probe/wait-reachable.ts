import { UserError } from "../../errors.js";
import { deadline } from "./deadline.js";

/**
 * Waits until the model answers over HTTP at all (any status). A rollout is "ready" when the pod's
 * probe passes inside the cluster, but the path from this machine (kube-proxy's NodePort rules, a
 * port mapping, a port-forward) can lag behind by a moment: without this, the first smoke tests
 * after a fresh rollout fail with a connection closed before any answer.
 */
export async function waitUntilReachable(url: string, options: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<number> {
  const started = performance.now();
  let lastError = "";
  while (performance.now() - started < options.timeoutMs) {
    if (options.signal?.aborted) throw new UserError("cancelled", "Waiting for the model to answer was cancelled.");
    const attempt = deadline(2_000, options.signal);
    try {
      const response = await fetch(url, { method: "GET", signal: attempt.signal });
      await response.arrayBuffer();
      return performance.now() - started;
    } catch (error) {
      lastError = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    } finally {
      attempt.clear();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new UserError("unreachable", `The rollout finished but the model does not answer at ${url} (${lastError}).`, {
    hint: "Check the Service's port and the endpoint ('mlkube status'); on kind the NodePort must be one the cluster maps (30080-30084 by default).",
  });
}
