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
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup-engine: installing ${need_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# The buildx plugin, so that `docker build` builds with BuildKit as it does on Docker 23+ and
# Desktop (the CLI on these machines, /usr/local/bin/docker 28, has none, and bookworm does not
# package it). Debian trixie's docker-buildx, fetched through apt with trixie's signed index, which
# the bookworm keyring already trusts; only its one static binary is installed, nothing else of
# trixie. Both CLIs (28 and Debian's 20.10) look for plugins in /usr/local/lib/docker/cli-plugins.
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx
if ! [ -x "$BUILDX_PLUGIN" ]; then
  echo "setup-engine: installing the docker buildx plugin (Debian trixie's docker-buildx)"
  work=$(mktemp -d)
  chmod 755 "$work"
  mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$work/sources/trixie.sources"
  apt_private=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  apt-get "${apt_private[@]}" update -qq
  (cd "$work" && apt-get "${apt_private[@]}" download -qq docker-buildx)
  dpkg-deb -x "$work"/docker-buildx_*.deb "$work/root"
  install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-buildx" "$BUILDX_PLUGIN"
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
