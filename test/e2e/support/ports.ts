/**
 * Every kind cluster mlkube creates maps the shared NodePorts 30080-30084 to the host, so only one
 * can exist at a time on a machine. Other e2e files (or another run) may hold them for a while:
 * wait until no container publishes them before creating this file's cluster.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { docker } from "../../support/engine.js";

const SHARED = new Set([30080, 30081, 30082, 30083, 30084]);

async function holdersOfNodePorts(): Promise<string[]> {
  const containers = await docker.listContainers();
  return containers
    .filter((container) => container.Ports.some((port) => port.PublicPort !== undefined && SHARED.has(port.PublicPort)))
    .map((container) => container.Names.join(","));
}

export async function waitForFreeNodePorts(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let holders = await holdersOfNodePorts();
  while (holders.length > 0) {
    if (Date.now() > deadline) throw new Error(`the NodePorts 30080-30084 are still held by ${holders.join(" ")} after ${timeoutMs} ms`);
    await sleep(2_000);
    holders = await holdersOfNodePorts();
  }
}
