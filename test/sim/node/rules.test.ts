/** The simulator's pure rules, as tables: no engine needed. */
import { describe, expect, it } from "vitest";
import { formatGoDuration, parseArgs, parseGoDuration } from "../cli/args.js";
import { kindNodeNames, parseKindConfig } from "../cli/kind-config.js";
import { parsePublish, setScript } from "../cli/minikube-format.js";
import { renderNodePortRules } from "./nodeports.js";
import { parseImageReference, resolveRegistryHosts } from "./registry-hosts.js";

describe("image references", () => {
  it.each([
    ["nginx", { domain: "docker.io", path: "library/nginx", tag: "latest" }],
    ["localhost:5001/iris:3f2a", { domain: "localhost:5001", path: "iris", tag: "3f2a" }],
    ["kind-registry:5000/team/iris:v1", { domain: "kind-registry:5000", path: "team/iris", tag: "v1" }],
    ["ghcr.io/org/model@sha256:abc", { domain: "ghcr.io", path: "org/model", tag: undefined, digest: "sha256:abc" }],
    ["org/model:1", { domain: "docker.io", path: "org/model", tag: "1" }],
  ])("%s", (image, expected) => {
    expect(parseImageReference(image)).toMatchObject(expected);
  });
});

describe("containerd registry hosts", () => {
  it("tries the hosts.toml mirrors in order, then the server", () => {
    const toml = `server = "https://registry.example"\n\n[host."http://kind-registry:5000"]\n  capabilities = ["pull", "resolve"]\n[host."https://mirror:443"]\n  skip_verify = true # self-signed\n`;
    expect(resolveRegistryHosts("localhost:5001", toml)).toEqual([
      { scheme: "http", host: "kind-registry:5000", capabilities: ["pull", "resolve"], skipVerify: false },
      { scheme: "https", host: "mirror", capabilities: ["pull", "resolve", "push"], skipVerify: true },
      { scheme: "https", host: "registry.example", capabilities: ["pull", "resolve", "push"], skipVerify: false },
    ]);
  });

  it("contacts the registry itself without a hosts.toml (so localhost:5001 means the node's own localhost)", () => {
    expect(resolveRegistryHosts("localhost:5001", undefined)).toEqual([
      { scheme: "https", host: "localhost:5001", capabilities: ["pull", "resolve", "push"], skipVerify: false },
    ]);
    expect(resolveRegistryHosts("docker.io", undefined)[0]?.host).toBe("registry-1.docker.io");
  });
});

describe("NodePort rules", () => {
  it("spreads a nodePort over ready endpoints like kube-proxy and rejects one without endpoints", () => {
    const text = renderNodePortRules([
      { nodePort: 30081, protocol: "TCP", targets: [] },
      {
        nodePort: 30080,
        protocol: "TCP",
        targets: [
          { ip: "10.244.0.5", port: 5000 },
          { ip: "10.244.0.6", port: 5000 },
        ],
      },
    ]);
    expect(text.split("\n")).toEqual([
      "*nat",
      ":KUBE-NODEPORTS - [0:0]",
      "-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.5:5000",
      "-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.0.6:5000",
      "COMMIT",
      "*filter",
      ":KUBE-EXTERNAL-SERVICES - [0:0]",
      '-A KUBE-EXTERNAL-SERVICES -p tcp -m tcp --dport 30081 -m addrtype --dst-type LOCAL -m comment --comment "nodePort 30081 has no endpoints" -j REJECT --reject-with icmp-port-unreachable',
      "COMMIT",
      "",
    ]);
  });
});

describe("kind's configuration", () => {
  it("defaults like kind: one control plane, 0.0.0.0, TCP, random host port", () => {
    const config = parseKindConfig(
      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  extraPortMappings:\n  - containerPort: 30080\n- role: worker\n- role: worker\n",
    );
    expect(config.nodes[0]?.extraPortMappings).toEqual([{ containerPort: 30080, hostPort: 0, listenAddress: "0.0.0.0", protocol: "TCP" }]);
    expect(kindNodeNames("dev", config.nodes)).toEqual(["dev-control-plane", "dev-worker", "dev-worker2"]);
    expect(parseKindConfig(undefined).nodes).toEqual([{ role: "control-plane", extraPortMappings: [], extraMounts: [] }]);
  });

  it.each([
    ["kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha3\n", "unknown apiVersion: kind.x-k8s.io/v1alpha3"],
    ["kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: worker\n", "must have at least one control-plane node"],
    [
      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  extraPortMappings:\n  - containerPort: 1\n    protocol: ICMP\n",
      'unknown protocol "ICMP"',
    ],
  ])("rejects %j", (text, message) => {
    expect(() => parseKindConfig(text)).toThrow(message);
  });
});

describe("cobra-style arguments", () => {
  it("accepts the forms kind and minikube accept", () => {
    const specs = {
      name: { type: "string" as const, short: "n" },
      wait: { type: "string" as const },
      ports: { type: "strings" as const },
      retain: { type: "bool" as const },
    };
    expect(parseArgs(["--name=dev", "img", "--ports", "a,b", "--ports=c", "--retain", "-n", "x"], specs)).toEqual({
      positionals: ["img"],
      flags: { name: "x", ports: ["a", "b", "c"], retain: true },
    });
    expect(() => parseArgs(["--nope"], specs)).toThrow("unknown flag: --nope");
    expect(() => parseArgs(["-z"], specs)).toThrow("unknown shorthand flag: 'z' in -z");
  });

  it.each([
    ["5m", 300_000, "5m0s"],
    ["90s", 90_000, "1m30s"],
    ["1h", 3_600_000, "1h0m0s"],
    ["0", 0, "0s"],
  ])("duration %s", (text, ms, shown) => {
    expect(parseGoDuration(text)).toBe(ms);
    expect(formatGoDuration(ms)).toBe(shown);
  });
});

describe("minikube's text", () => {
  it("writes docker-env for bash as minikube does", () => {
    expect(
      setScript(
        "bash",
        [
          ["DOCKER_TLS_VERIFY", "1"],
          ["DOCKER_HOST", "tcp://192.168.49.2:2376"],
        ],
        "minikube -p minikube docker-env",
      ),
    ).toBe(
      'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://192.168.49.2:2376"\n\n# To point your shell to minikube\'s docker-daemon, run:\n# eval $(minikube -p minikube docker-env)\n',
    );
  });

  it.each([
    ["30080", { containerPort: 30080, hostPort: 0, listenAddress: "0.0.0.0", protocol: "TCP" }],
    ["8080:80", { containerPort: 80, hostPort: 8080, listenAddress: "0.0.0.0", protocol: "TCP" }],
    ["127.0.0.1:30080:30080/udp", { containerPort: 30080, hostPort: 30080, listenAddress: "127.0.0.1", protocol: "UDP" }],
  ])("reads --ports %s like docker -p", (spec, expected) => {
    expect(parsePublish(spec)).toEqual(expected);
  });
});
