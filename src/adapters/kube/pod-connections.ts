import { Agent } from "node:http";
import type { KubeAccess } from "./client.js";
import { forwardToPod, type LocalForward, type PodTarget } from "./pod-forward.js";

/** A way to one named pod's port: a local port-forward and one kept-alive HTTP connection through it. */
interface PodConnection {
  url: string;
  /** Keeps one connection open between requests (when the server keeps it). */
  agent: Agent;
  /** Why the forward could not be opened, when it could not (LocalForward.lastError). */
  lastError(): string | undefined;
}

/**
 * Connections to named pods, opened on first use and kept until closeAll(). Each new connection
 * through a port-forward is a WebSocket through the API server that no user's request pays, so
 * the steps that follow one another on the same pods share them: after a live sync, the check
 * that the restarted server answers leaves its connection open for that pod's smoke tests.
 * Only for pods: the model's URL always gets a connection per request (see probe/http.ts).
 */
export class PodConnections {
  private readonly open = new Map<string, Promise<{ forward: LocalForward; agent: Agent }>>();

  constructor(
    private readonly kube: KubeAccess,
    private readonly namespace: string,
  ) {}

  async get(target: PodTarget): Promise<PodConnection> {
    const key = `${target.pod}:${target.port}`;
    let opened = this.open.get(key);
    if (!opened) {
      opened = forwardToPod(this.kube, this.namespace, target).then((forward) => ({ forward, agent: new Agent({ keepAlive: true, maxSockets: 1 }) }));
      this.open.set(key, opened);
      opened.catch(() => this.open.delete(key));
    }
    const { forward, agent } = await opened;
    return { url: forward.url, agent, lastError: forward.lastError };
  }

  /** Closes one pod's connection and forward (a server that did not come back: the next use starts afresh). */
  async drop(target: PodTarget): Promise<void> {
    const key = `${target.pod}:${target.port}`;
    const opened = this.open.get(key);
    this.open.delete(key);
    await close(opened);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(close));
  }
}

async function close(opened: Promise<{ forward: LocalForward; agent: Agent }> | undefined): Promise<void> {
  const done = await opened?.catch(() => undefined);
  done?.agent.destroy();
  await done?.forward.close();
}
