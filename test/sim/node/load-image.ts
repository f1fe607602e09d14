/**
 * What `kind load docker-image` and `minikube image load` do to a node: `docker save` the whole
 * image from the host engine and stream it into the node's runtime, then check the node now has
 * the exact image ID (a half-finished import must not pass, kind#2402).
 *
 * The bytes go from one `docker` CLI to the other through an OS pipe, as kind shells out to
 * `docker save`: streaming them through this Node.js process measured half again slower.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { containerIP, HOST_DOCKER_SOCKET, hostDocker, isNotFound } from "../docker.js";
import { ENGINE_PORT, enginePkiDir, nodeEngine } from "./engine.js";

export interface LoadResult {
  imageId: string;
  /** false when the node already had this exact image ID. */
  loaded: boolean;
}

export async function hostImageId(image: string, host: Dockerode = hostDocker): Promise<string | undefined> {
  try {
    return (await host.getImage(image).inspect()).Id;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function nodeImageId(engine: Dockerode, image: string): Promise<string | undefined> {
  return hostImageId(image, engine);
}

function finished(child: ChildProcess, what: string): Promise<void> {
  const stderr: Buffer[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed with exit code ${code}: ${Buffer.concat(stderr).toString().trim()}`)),
    );
  });
}

/** Loads `image` into the engine of node container `nodeContainer`; skips it when the ID matches. */
export async function loadImage(nodeContainer: string, image: string): Promise<LoadResult> {
  const imageId = await hostImageId(image);
  if (!imageId) throw new Error(`image: "${image}" not present locally`);
  const ip = await containerIP(hostDocker, nodeContainer);
  if (!ip) throw new Error(`node ${nodeContainer} has no IP address: is it running?`);
  const engine = nodeEngine(ip);
  if ((await nodeImageId(engine, image)) === imageId) return { imageId, loaded: false };

  const pki = enginePkiDir();
  const save = spawn("docker", ["-H", `unix://${HOST_DOCKER_SOCKET}`, "save", image], { stdio: ["ignore", "pipe", "pipe"] });
  const load = spawn(
    "docker",
    [
      "--tlsverify",
      "--tlscacert",
      join(pki, "ca.pem"),
      "--tlscert",
      join(pki, "cert.pem"),
      "--tlskey",
      join(pki, "key.pem"),
      "-H",
      `tcp://${ip}:${ENGINE_PORT}`,
      "load",
      "--quiet",
    ],
    { stdio: [save.stdout, "ignore", "pipe"] },
  );
  // The load process holds its own copy of the pipe; ours would keep `save` from ever closing.
  save.stdout.destroy();
  await Promise.all([finished(save, `docker save ${image}`), finished(load, `docker load into ${nodeContainer}`)]);

  const loadedId = await nodeImageId(engine, image);
  if (loadedId !== imageId) {
    throw new Error(`loading ${image} into ${nodeContainer} left image ID ${loadedId ?? "(none)"}, expected ${imageId}`);
  }
  return { imageId, loaded: true };
}
