import type Dockerode from "dockerode";
import { UserError } from "../../errors.js";
import { describePortHolder, findPortHolder, portIsFree } from "./port-holder.js";

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

/**
 * Fails clearly, naming the holder, when the registry's host port is taken by something other
 * than the registry itself. Run before anything is created, so a taken port creates nothing.
 */
export async function checkRegistryPort(docker: Dockerode, settings: RegistrySettings): Promise<void> {
  if (await portIsFree("127.0.0.1", settings.hostPort)) return;
  if (await registryRunning(docker, settings)) return; // held by the registry itself
  throw await registryPortTaken(docker, settings);
}

/**
 * What lets mlkube prune the old images it pushed (adapters/registry/prune-registry.ts), set as
 * REGISTRY_* variables (distribution reads any setting from them):
 * - deletes on: the registry:2 image has them off;
 * - no in-memory blob descriptor cache (the image's config has one): the garbage collector runs as
 *   another process, and the serving one would go on saying a collected layer exists, so a later
 *   push of that layer would be skipped and the image it completes could not be pulled (seen with
 *   distribution 2.8: HEAD of a collected blob answers 200 with the cache, 404 without).
 */
const COLLECTABLE_REGISTRY_ENV = ["REGISTRY_STORAGE_DELETE_ENABLED=true", "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR="];

/**
 * The container that publishes a registry on this machine's `port`, when its garbage collector can
 * safely run in it (started with the settings above, as mlkube starts it); undefined otherwise (a
 * registry started some other way, outside Docker, or on another engine).
 */
export async function collectableRegistryOn(docker: Dockerode, port: number): Promise<string | undefined> {
  const containers = await docker.listContainers({ filters: JSON.stringify({ publish: [String(port)], status: ["running"] }) });
  const name = containers[0]?.Names[0]?.replace(/^\//, "");
  if (!name) return undefined;
  const env = (await docker.getContainer(name).inspect()).Config.Env ?? [];
  return COLLECTABLE_REGISTRY_ENV.every((setting) => env.includes(setting)) ? name : undefined;
}

/** Starts the registry when missing; returns false when it was already running. */
export async function ensureRegistry(docker: Dockerode, settings: RegistrySettings): Promise<boolean> {
  const container = docker.getContainer(settings.container);
  let exists = true;
  try {
    if ((await container.inspect()).State.Running) return false;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    exists = false;
  }
  await checkRegistryPort(docker, settings);
  if (exists) {
    await container.start().catch(async (cause: unknown) => {
      throw await registryStartFailed(docker, settings, cause);
    });
    return true;
  }
  await ensureImage(docker, settings.image);
  const created = await docker.createContainer({
    name: settings.container,
    Image: settings.image,
    Labels: { "app.kubernetes.io/managed-by": "mlkube" },
    ExposedPorts: { "5000/tcp": {} },
    Env: COLLECTABLE_REGISTRY_ENV,
    HostConfig: {
      PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(settings.hostPort) }] },
      RestartPolicy: { Name: "always" },
    },
  });
  try {
    await created.start();
  } catch (cause) {
    // A container that never started would stay behind as "Created", holding the name.
    await created.remove({ force: true }).catch(() => undefined);
    throw await registryStartFailed(docker, settings, cause);
  }
  return true;
}

async function registryStartFailed(docker: Dockerode, settings: RegistrySettings, cause: unknown): Promise<UserError> {
  const message = (cause as { json?: { message?: string } }).json?.message ?? (cause as Error).message;
  // The port may have been taken between the check and the start.
  if (/address already in use|port is already allocated/i.test(message)) return registryPortTaken(docker, settings, cause);
  return new UserError("cluster", `Could not start the local registry ${settings.container} on 127.0.0.1:${settings.hostPort}: ${message}`, {
    hint: `Check 'docker logs ${settings.container}', or set cluster.registry: off in mlkube.yaml to load images instead (slower).`,
    cause,
  });
}

async function registryPortTaken(docker: Dockerode, settings: RegistrySettings, cause?: unknown): Promise<UserError> {
  const port = settings.hostPort;
  const holder = describePortHolder(port, await findPortHolder(port));
  const container = await containerPublishing(docker, port);
  return new UserError(
    "cluster",
    `Port 127.0.0.1:${port}, where mlkube runs its local registry (${settings.container}), is taken by ${holder}${container ? `, publishing container '${container}'` : ""}.`,
    {
      // mlkube.yaml has no setting for the registry's port: kind's recipe fixes it at 5001.
      hint: `Free the port (stop that program${container ? `: 'docker stop ${container}'` : ""}), or set cluster.registry: off in mlkube.yaml to load whole images into the cluster instead (slower).`,
      cause,
    },
  );
}

/** The Docker container that publishes PORT on the host, if one does (then docker-proxy holds it). */
async function containerPublishing(docker: Dockerode, port: number): Promise<string | undefined> {
  const containers = await docker.listContainers().catch(() => []);
  const found = containers.find((container) => container.Ports.some((binding) => binding.PublicPort === port));
  return found?.Names[0]?.replace(/^\//, "");
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
