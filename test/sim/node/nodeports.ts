/**
 * kube-proxy's iptables mode, reduced to NodePorts: traffic arriving at NODE:nodePort is DNATed to
 * one ready endpoint, picked at random with the same `statistic` cascade kube-proxy writes; a
 * nodePort without ready endpoints is REJECTed (connection refused), as kube-proxy does. The node's
 * entrypoint installs the jumps into these chains; this renders their whole contents for
 * `iptables-restore --noflush`, which replaces the chains atomically.
 */
import type { NodePortRule } from "../contract.js";

export function renderNodePortRules(rules: NodePortRule[]): string {
  const nat = ["*nat", ":KUBE-NODEPORTS - [0:0]"];
  const filter = ["*filter", ":KUBE-EXTERNAL-SERVICES - [0:0]"];
  const sorted = [...rules].sort((a, b) => a.nodePort - b.nodePort || a.protocol.localeCompare(b.protocol));
  for (const rule of sorted) {
    const match = `-p ${rule.protocol.toLowerCase()} -m ${rule.protocol.toLowerCase()} --dport ${rule.nodePort}`;
    if (rule.targets.length === 0) {
      filter.push(
        `-A KUBE-EXTERNAL-SERVICES ${match} -m addrtype --dst-type LOCAL -m comment --comment "nodePort ${rule.nodePort} has no endpoints" -j REJECT --reject-with icmp-port-unreachable`,
      );
      continue;
    }
    rule.targets.forEach((target, index) => {
      const remaining = rule.targets.length - index;
      // Endpoint i of n is chosen with probability 1/(n-i) among the rest: uniform overall.
      const pick = remaining > 1 ? ` -m statistic --mode random --probability ${(1 / remaining).toFixed(11)}` : "";
      nat.push(`-A KUBE-NODEPORTS ${match}${pick} -j DNAT --to-destination ${target.ip}:${target.port}`);
    });
  }
  return [...nat, "COMMIT", ...filter, "COMMIT", ""].join("\n");
}
