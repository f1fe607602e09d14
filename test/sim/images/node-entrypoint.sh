#!/bin/sh
# PID 1 of a simulated cluster node. A real kind node boots systemd, containerd and the kubelet;
# here the node's container runtime is a Docker engine, and the kubelet and kube-proxy logic run in
# the cluster's daemon on the host, which drives this engine over TLS (port 2376).
#
# The node's IP is only known once the container runs, and the engine's server certificate must name
# it, so the creator copies the certificates and /etc/mlkube-sim/node.env in after the start; this
# script waits for them.
set -eu

conf=/etc/mlkube-sim/node.env
pki=/etc/mlkube-sim/engine
while [ ! -s "$conf" ]; do sleep 0.1; done
# shellcheck disable=SC1090
. "$conf" # POD_BRIDGE_CIDR (e.g. 10.244.3.1/24), CGROUP_PARENT

mkdir -p /etc/docker /run/mlkube-sim /var/log
# insecure-registries live in daemon.json (not flags) so the runtime can add one and reload with
# SIGHUP: a flag and a daemon.json entry for the same option would stop dockerd from starting.
[ -s /etc/docker/daemon.json ] || echo '{"insecure-registries":[]}' >/etc/docker/daemon.json

dockerd \
  --host unix:///var/run/docker.sock --host tcp://0.0.0.0:2376 \
  --tlsverify --tlscacert "$pki/ca.pem" --tlscert "$pki/server-cert.pem" --tlskey "$pki/server-key.pem" \
  --bip "$POD_BRIDGE_CIDR" --cgroup-parent "$CGROUP_PARENT" \
  --storage-driver overlay2 --exec-opt native.cgroupdriver=cgroupfs \
  >/var/log/dockerd.log 2>&1 &
engine=$!
trap 'kill -TERM "$engine" 2>/dev/null; wait "$engine"; exit 0' TERM INT

until docker info >/dev/null 2>&1; do
  kill -0 "$engine" 2>/dev/null || { tail -20 /var/log/dockerd.log >&2; exit 1; }
  sleep 0.1
done

# kube-proxy's chains: NodePort DNAT rules (nat) and REJECT for services without endpoints (filter).
# The runtime rewrites the chains' contents; the jumps into them are installed once here.
iptables -t nat -N KUBE-NODEPORTS 2>/dev/null || true
iptables -t nat -C PREROUTING -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS 2>/dev/null ||
  iptables -t nat -I PREROUTING -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
iptables -t nat -C OUTPUT -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS 2>/dev/null ||
  iptables -t nat -I OUTPUT -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
iptables -t filter -N KUBE-EXTERNAL-SERVICES 2>/dev/null || true
iptables -t filter -C INPUT -j KUBE-EXTERNAL-SERVICES 2>/dev/null ||
  iptables -t filter -I INPUT -j KUBE-EXTERNAL-SERVICES
# The engine's FORWARD policy is DROP and only admits published ports into the pod bridge; a CNI
# lets anything reach pod IPs, so does this (NodePort traffic and the host's probes come in on eth0).
iptables -t filter -C DOCKER-USER -i eth0 -o docker0 -j ACCEPT 2>/dev/null ||
  iptables -t filter -I DOCKER-USER -i eth0 -o docker0 -j ACCEPT

# The pod sandbox image, as kind nodes ship it preloaded. Nothing can be pulled, so it is assembled
# from the node's own `sleep` and the two libraries it needs.
if ! docker image inspect registry.k8s.io/pause:3.10 >/dev/null 2>&1; then
  tar -C / -ch usr/bin/sleep lib/x86_64-linux-gnu/libc.so.6 lib64/ld-linux-x86-64.so.2 |
    docker import -c 'ENTRYPOINT ["/usr/bin/sleep","infinity"]' - registry.k8s.io/pause:3.10 >/dev/null
fi

touch /run/mlkube-sim/ready
wait "$engine"
