/**
 * Whether this machine reaches a minikube (docker driver) node's IP, or needs a tunnel to it
 * (`minikube service --url`). The rule is minikube's own, so mlkube tunnels exactly where
 * minikube's `service` command does (kubernetes/minikube pkg/minikube/driver/driver.go,
 * NeedsPortForward): an engine on another host; macOS, Windows and WSL (the engine runs in a VM);
 * Docker Desktop for Linux (a VM too); rootless Docker (the node lives in the user's network namespace).
 */
export interface EngineFacts {
  platform: NodeJS.Platform;
  isWsl: boolean;
  /** `docker info` OperatingSystem: "Docker Desktop" for Docker Desktop. */
  engineOs: string | undefined;
  /** `docker info` SecurityOptions includes "name=rootless". */
  rootless: boolean;
  /** The engine's address when it is not on this machine (tcp:// or ssh:// to another host). */
  remoteEngine: string | undefined;
}

/** Why the node IP is out of reach, or undefined when it can be used directly. */
export function tunnelReason(facts: EngineFacts): string | undefined {
  if (facts.remoteEngine) return `the Docker engine runs on another host (${facts.remoteEngine})`;
  if (facts.platform === "darwin" || facts.platform === "win32") return "Docker runs in a VM on this OS";
  if (facts.isWsl) return "Docker runs outside WSL";
  if (facts.engineOs === "Docker Desktop") return "Docker Desktop runs the engine in a VM";
  if (facts.rootless) return "rootless Docker keeps the node in its own network namespace";
  return undefined;
}

/** A tcp:// or ssh:// engine address that is not this machine, as minikube's oci.IsExternalDaemonHost decides. */
export function remoteEngineOf(host: string): string | undefined {
  const match = /^(tcp|ssh|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(host);
  if (!match) return undefined;
  const name = match[2]?.replace(/^\[|\]$/g, "") ?? "";
  return ["localhost", "127.0.0.1", "::1", "0.0.0.0"].includes(name) ? undefined : host;
}
