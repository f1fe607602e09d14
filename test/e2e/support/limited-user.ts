/**
 * A developer with limited rights on a kind cluster, made the way a cluster admin makes one: a
 * client certificate signed with the cluster CA kubeadm leaves on the control-plane node
 * (/etc/kubernetes/pki), a kubeconfig context for it, and RBAC objects applied as the admin. The
 * same steps work on the simulator and on a real kind cluster.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { execInContainer } from "../../../src/adapters/docker/container-exec.js";
import { docker } from "../../support/engine.js";

const run = promisify(execFile);

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
}

export interface LimitedUser {
  context: string;
  /** Takes the user's context and credentials out of the kubeconfig again. */
  remove: () => Promise<void>;
}

/**
 * Adds user `user` to the kind cluster `cluster` (context kind-CLUSTER in `kubeconfigPath`), bound
 * in `namespace` to the ClusterRole `edit` or to a Role with `rules`; returns its context's name.
 */
export async function addLimitedUser(options: {
  cluster: string;
  kubeconfigPath: string;
  user: string;
  namespace: string;
  role: "edit" | V1PolicyRule[];
}): Promise<LimitedUser> {
  const { cluster, kubeconfigPath, user, namespace } = options;
  const node = `${cluster}-control-plane`;
  const dir = await mkdtemp(join(tmpdir(), "mlkube-e2e-user-"));
  let cert: string;
  let key: string;
  try {
    await writeFile(join(dir, "ca.crt"), await execInContainer(docker, node, ["cat", "/etc/kubernetes/pki/ca.crt"]));
    await writeFile(join(dir, "ca.key"), await execInContainer(docker, node, ["cat", "/etc/kubernetes/pki/ca.key"]), { mode: 0o600 });
    await run("openssl", [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "user.key"),
      "-out",
      join(dir, "user.csr"),
      "-subj",
      `/CN=${user}/O=developers`,
    ]);
    await writeFile(join(dir, "ext.cnf"), "extendedKeyUsage=clientAuth\n");
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      join(dir, "user.csr"),
      "-CA",
      join(dir, "ca.crt"),
      "-CAkey",
      join(dir, "ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      join(dir, "ext.cnf"),
      "-out",
      join(dir, "user.crt"),
    ]);
    [cert, key] = await Promise.all([readFile(join(dir, "user.crt"), "utf8"), readFile(join(dir, "user.key"), "utf8")]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // The admin makes the namespace and the binding.
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  admin.setCurrentContext(`kind-${cluster}`);
  const core = admin.makeApiClient(CoreV1Api);
  await core.readNamespace({ name: namespace }).catch(() => core.createNamespace({ body: { metadata: { name: namespace } } }));
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  let roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" };
  if (options.role !== "edit") {
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: `${user}-role` }, rules: options.role } });
    roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${user}-role` };
  }
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name: `${user}-binding` }, roleRef, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }] },
  });

  // The developer's context: the same cluster entry, their own user, their namespace.
  const context = `${user}@kind-${cluster}`;
  const edit = async (change: (config: Kubeconfig) => void): Promise<void> => {
    const config = parse(await readFile(kubeconfigPath, "utf8")) as Kubeconfig;
    config.users = config.users.filter((u) => u.name !== context);
    config.contexts = config.contexts.filter((c) => c.name !== context);
    change(config);
    await writeFile(kubeconfigPath, stringify(config));
  };
  await edit((config) => {
    config.users.push({
      name: context,
      user: { "client-certificate-data": Buffer.from(cert).toString("base64"), "client-key-data": Buffer.from(key).toString("base64") },
    });
    config.contexts.push({ name: context, context: { cluster: `kind-${cluster}`, user: context, namespace } });
  });
  return { context, remove: () => edit(() => undefined) };
}
