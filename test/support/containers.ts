import { docker } from "./engine.js";

/** Whether `image` can import these Python modules (e.g. whether the base image can serve ASGI). */
export async function imageHasPythonModules(image: string, modules: string[]): Promise<boolean> {
  const container = await docker.createContainer({ Image: image, Cmd: ["python3", "-c", `import ${modules.join(", ")}`] });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return StatusCode === 0;
  } finally {
    await container.remove({ force: true });
  }
}

export interface RunningModel {
  url: string;
  stop(): Promise<void>;
}

/** Runs an image (or `cmd` in it) with its port published on a free 127.0.0.1 port (never on the network). */
export async function runPublished(image: string, containerPort: number, cmd?: string[]): Promise<RunningModel> {
  const port = `${containerPort}/tcp`;
  const container = await docker.createContainer({
    Image: image,
    ...(cmd ? { Entrypoint: [], Cmd: cmd } : {}),
    ExposedPorts: { [port]: {} },
    HostConfig: { PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] } },
  });
  await container.start();
  const info = await container.inspect();
  const hostPort = info.NetworkSettings.Ports[port]?.[0]?.HostPort;
  return { url: `http://127.0.0.1:${hostPort}`, stop: () => container.remove({ force: true }) };
}

/**
 * Waits until something answers HTTP at `url`. Each attempt has its own short timeout: Docker's
 * port proxy accepts connections before the server in the container listens, and holds them.
 */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nothing answered at ${url} within ${timeoutMs / 1000} s`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
