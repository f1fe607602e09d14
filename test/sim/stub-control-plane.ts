/**
 * A stand-in for the stand-in: the smallest control plane that lets the kind/minikube stand-ins be
 * tested on their own (output, kubeconfig, node containers) without depending on apiserver/. The
 * cluster daemon uses it only when MLKUBE_SIM_CONTROL_PLANE points here (the stand-ins' tests do).
 * It answers /version, reports every node Ready, and knows one NodePort Service, `stub-svc`.
 */
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ControlPlaneOptions, RunningControlPlane } from "./contract.js";

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const nodes = new Set(options.runtimes.map((runtime) => runtime.node.name));
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    const service = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/.exec(path);
    if (path === "/version") return send(200, { major: "1", minor: "32", gitVersion: "v1.32.2" });
    if (node && nodes.has(node[1] as string)) {
      return send(200, { kind: "Node", apiVersion: "v1", metadata: { name: node[1] }, status: { conditions: [{ type: "Ready", status: "True" }] } });
    }
    if (service && service[2] === "stub-svc") {
      return send(200, {
        kind: "Service",
        apiVersion: "v1",
        metadata: { name: "stub-svc", namespace: service[1] },
        spec: { type: "NodePort", ports: [{ port: 80, targetPort: 5000, nodePort: 30080 }] },
      });
    }
    send(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(options.port, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
