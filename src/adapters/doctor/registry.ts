import type Dockerode from "dockerode";
import type { DoctorCheck } from "../../core/doctor.js";
import { registryRunning, type RegistrySettings } from "../cluster/local-registry.js";
import { deadline } from "../probe/deadline.js";

/** mlkube's local registry: its container runs and the registry API answers on 127.0.0.1. */
export async function checkRegistry(docker: Dockerode | undefined, settings: RegistrySettings, registrySetting: string): Promise<DoctorCheck> {
  if (registrySetting === "off") return { name: "registry", status: "ok", detail: "not used (cluster.registry: off; images are loaded into the cluster)" };
  if (registrySetting !== "auto")
    return { name: "registry", status: "skip", detail: `${registrySetting} (cluster.registry) is yours; mlkube does not check it` };
  if (!docker) return { name: "registry", status: "skip", detail: "not checked: the Docker engine does not answer" };
  const url = `http://127.0.0.1:${settings.hostPort}/v2/`;
  if (!(await registryRunning(docker, settings))) {
    return {
      name: "registry",
      status: "warn",
      detail: `${settings.container} is not running ('mlkube up' starts it; until then images are loaded, which is slower)`,
      fix: "mlkube doctor --fix",
      autoFix: "start-registry",
    };
  }
  const limit = deadline(3_000);
  try {
    const response = await fetch(url, { signal: limit.signal });
    // 401 is an answer too: a registry with authentication in front.
    if (response.ok || response.status === 401) return { name: "registry", status: "ok", detail: `${settings.container} answers at ${url}` };
    return {
      name: "registry",
      status: "fail",
      detail: `${settings.container} runs, but ${url} answers HTTP ${response.status}`,
      fix: `docker logs ${settings.container}`,
    };
  } catch (error) {
    const reason = limit.expired ? "no answer within 3 s" : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
    return {
      name: "registry",
      status: "fail",
      detail: `${settings.container} runs, but ${url} does not answer (${reason})`,
      fix: `docker restart ${settings.container}`,
    };
  } finally {
    limit.clear();
  }
}
