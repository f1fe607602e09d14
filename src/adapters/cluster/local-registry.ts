import type Dockerode from "dockerode";
import { UserError } from "../../errors.js";

/**
 * The local registry container of kind's own recipe: `registry:2` named kind-registry, published
 * on 127.0.0.1 only (a dev registry must not be reachable from the network), restarted with Docker.
 */
export interface RegistrySettings {
  container: string;
  hostPort: number;
  image: string;
}

export const DEFAULT_REGISTRY: RegistrySettings = { container: "kind-registry", hostPort: 5001, image: "registry:2" };

export async function registryRunning(docker: Dockerode, settings: RegistrySettings): Promise<boolean> {
  try {
    return (await docker.getContainer(settings.container).inspect()).State.Running;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Starts the registry when missing; returns false when it was already running. */
export async function ensureRegistry(docker: Dockerode, settings: RegistrySettings): Promise<boolean> {
  const container = docker.getContainer(settings.container);
  try {
    const info = await container.inspect();
    if (info.State.Running) return false;
    await container.start();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  await ensureImage(docker, settings.image);
  try {
    const created = await docker.createContainer({
      name: settings.container,
      Image: settings.image,
      Labels: { "app.kubernetes.io/managed-by": "mlkube" },
      ExposedPorts: { "5000/tcp": {} },
      HostConfig: {
        PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(settings.hostPort) }] },
        RestartPolicy: { Name: "always" },
      },
    });
    await created.start();
  } catch (cause) {
    const message = (cause as { json?: { message?: string } }).json?.message ?? (cause as Error).message;
    const portTaken = /address already in use|port is already allocated/i.test(message);
    throw new UserError("cluster", `Could not start the local registry ${settings.container} on 127.0.0.1:${settings.hostPort}: ${message}`, {
      hint: portTaken ? `Another program uses port ${settings.hostPort}; stop it ('ss -ltnp | grep ${settings.hostPort}') or set a different registry port.` : "Check 'docker logs kind-registry'.",
      cause,
    });
  }
  return true;
}

/** Attaches the registry to the cluster's Docker network so nodes reach it by name. */
export async function connectRegistry(docker: Dockerode, settings: RegistrySettings, network: string): Promise<boolean> {
  const info = await docker.getContainer(settings.container).inspect();
  if (info.NetworkSettings.Networks[network]) return false;
  try {
    await docker.getNetwork(network).connect({ Container: settings.container });
  } catch (cause) {
    if ((cause as { statusCode?: number }).statusCode !== 404) throw cause;
    throw new UserError("cluster", `The Docker network '${network}' the cluster's nodes use does not exist.`, {
      hint: "The cluster was removed or damaged outside mlkube: recreate it with 'mlkube down' then 'mlkube up'.",
      cause,
    });
  }
  return true;
}

export async function removeRegistry(docker: Dockerode, settings: RegistrySettings): Promise<boolean> {
  try {
    await docker.getContainer(settings.container).remove({ force: true });
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

async function ensureImage(docker: Dockerode, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
  } catch (cause) {
    throw new UserError("cluster", `The registry image ${image} is not on this machine and could not be pulled: ${(cause as Error).message}`, {
      hint: `Pull it once while online ('docker pull ${image}'), or set cluster.registry: off to load images instead.`,
      cause,
    });
  }
}
