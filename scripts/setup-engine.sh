#!/usr/bin/env bash
# Installs and starts what the integration tests need on a bare Debian machine: a Docker engine and
# a local image registry on 127.0.0.1:5002 (5001 is left for the kind-registry container mlkube runs, as in kind's docs). Idempotent: anything already running is left alone.
# No image can be pulled on these machines, so the registry is
# Debian's docker-registry binary, not the registry:2 image.
set -euo pipefail

REGISTRY_PORT="${MLKUBE_TEST_REGISTRY_PORT:-5002}"
STATE_DIR="${MLKUBE_STATE_DIR:-/var/lib/mlkube-test}"
need_packages=()
command -v dockerd >/dev/null || need_packages+=(docker.io)
command -v docker-registry >/dev/null || need_packages+=(docker-registry)
command -v debootstrap >/dev/null || need_packages+=(debootstrap)
command -v tmux >/dev/null || need_packages+=(tmux)
command -v ip >/dev/null || need_packages+=(iproute2)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup-engine: installing ${need_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# From Debian trixie, three things bookworm lacks, each fetched through apt with trixie's signed
# index (the bookworm keyring trusts it) into a private apt state; only their static binaries are
# installed, nothing of trixie is configured on the machine:
# - the buildx plugin, so that `docker build` builds with BuildKit as on Docker 23+ and Desktop
#   (the CLI on these machines, /usr/local/bin/docker 28, has none). Both CLIs (28 and Debian's
#   20.10) look for plugins in /usr/local/lib/docker/cli-plugins;
# - Docker Engine 26 and containerd 1.7, run as a second engine with the containerd image store
#   (the default of fresh Docker 29 and Desktop installs) for test/integration/newer-engine.test.ts:
#   heredocs with the engine's own frontend, image IDs that are manifest digests.
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx
NEWER_DIR=/opt/mlkube-docker26
NEWER_STATE="${MLKUBE_NEWER_ENGINE_STATE:-/var/lib/mlkube-docker26}"
NEWER_RUN=/run/mlkube-docker26
if ! [ -x "$BUILDX_PLUGIN" ] || ! [ -x "$NEWER_DIR/bin/dockerd" ]; then
  echo "setup-engine: fetching docker-buildx, docker.io 26 and containerd 1.7 from Debian trixie"
  work=$(mktemp -d)
  chmod 755 "$work"
  mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$work/sources/trixie.sources"
  apt_private=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  apt-get "${apt_private[@]}" update -qq
  (cd "$work" && apt-get "${apt_private[@]}" download -qq docker-buildx docker.io containerd)
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-buildx" "$BUILDX_PLUGIN"
  for binary in usr/sbin/dockerd usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/ctr; do
    install -D -m 0755 "$work/root/$binary" "$NEWER_DIR/bin/$(basename "$binary")"
  done
  rm -rf "$work"
fi
echo "setup-engine: $(docker buildx version)"

mkdir -p "$STATE_DIR"
if ! docker info >/dev/null 2>&1; then
  echo "setup-engine: starting dockerd (log: $STATE_DIR/dockerd.log)"
  # setsid: the engine must outlive the shell that started it (CI runs this from a script).
  setsid dockerd --storage-driver overlay2 >"$STATE_DIR/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "setup-engine: dockerd did not start"; tail -20 "$STATE_DIR/dockerd.log"; exit 1; }
fi
echo "setup-engine: docker engine $(docker version --format '{{.Server.Version}}') is up"

if ! curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1; then
  mkdir -p "$STATE_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $STATE_DIR/registry }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
  echo "setup-engine: starting registry on 127.0.0.1:$REGISTRY_PORT"
  setsid docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 < /dev/null &
  for _ in $(seq 1 40); do curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
  curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null || { echo "setup-engine: registry did not start"; cat "$STATE_DIR/registry.log"; exit 1; }
fi
echo "setup-engine: registry answers on 127.0.0.1:$REGISTRY_PORT"

# The second engine: its own containerd (1.7, which the containerd image store needs), data and
# sockets, and its own network namespace. Not for isolation's sake alone: a dockerd in the host's
# namespace deletes docker0, the first engine's bridge, when started with --bridge none, and
# manages the same bridge otherwise. Its unix socket is reachable from the host all the same.
if ! DOCKER_HOST="unix://$NEWER_RUN/docker.sock" docker info >/dev/null 2>&1; then
  mkdir -p "$NEWER_STATE" "$NEWER_RUN"
  cat >"$NEWER_STATE/containerd.toml" <<TOML
version = 2
root = "$NEWER_STATE/containerd"
state = "$NEWER_RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$NEWER_RUN/containerd.sock"
[ttrpc]
  address = "$NEWER_RUN/containerd.sock.ttrpc"
TOML
  echo '{"features": {"containerd-snapshotter": true}}' >"$NEWER_STATE/daemon.json"
  ip netns list | grep -qw mlkube-docker26 || ip netns add mlkube-docker26
  ip netns exec mlkube-docker26 ip link set lo up
  echo "setup-engine: starting Docker 26 with the containerd image store on unix://$NEWER_RUN/docker.sock"
  # Its own containerd's shims first on the PATH, not bookworm's 1.6 ones. nsenter, not `ip netns exec`:
  # that one remounts /sys, hiding the cgroup mounts dockerd needs.
  # Ask containerd, not the socket file: a machine restored from a snapshot keeps /run/mlkube-docker26
  # with the socket of a containerd that no longer runs (CI failed so once).
  containerd_answers() { "$NEWER_DIR/bin/ctr" --address "$NEWER_RUN/containerd.sock" version >/dev/null 2>&1; }
  if ! containerd_answers; then
    rm -f "$NEWER_RUN/containerd.sock" "$NEWER_RUN/containerd.sock.ttrpc"
    PATH="$NEWER_DIR/bin:$PATH" setsid nsenter --net=/run/netns/mlkube-docker26 "$NEWER_DIR/bin/containerd" --config "$NEWER_STATE/containerd.toml" >"$NEWER_STATE/containerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do containerd_answers && break; sleep 0.25; done
    containerd_answers || { echo "setup-engine: containerd 1.7 did not start"; tail -20 "$NEWER_STATE/containerd.log"; exit 1; }
  fi
  PATH="$NEWER_DIR/bin:$PATH" setsid nsenter --net=/run/netns/mlkube-docker26 "$NEWER_DIR/bin/dockerd" --host "unix://$NEWER_RUN/docker.sock" \
    --data-root "$NEWER_STATE/docker" --exec-root "$NEWER_RUN/exec" --pidfile "$NEWER_RUN/docker.pid" \
    --containerd "$NEWER_RUN/containerd.sock" --config-file "$NEWER_STATE/daemon.json" \
    --iptables=false --ip6tables=false --userland-proxy=false >"$NEWER_STATE/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do DOCKER_HOST="unix://$NEWER_RUN/docker.sock" docker info >/dev/null 2>&1 && break; sleep 0.5; done
  DOCKER_HOST="unix://$NEWER_RUN/docker.sock" docker info >/dev/null 2>&1 || { echo "setup-engine: Docker 26 did not start"; tail -20 "$NEWER_STATE/dockerd.log"; exit 1; }
fi
echo "setup-engine: second engine Docker $(DOCKER_HOST="unix://$NEWER_RUN/docker.sock" docker version --format '{{.Server.Version}}') is up (containerd image store)"
