#!/usr/bin/env bash
# Builds the root file system of the simulator's node image without pulling anything (nothing can
# be pulled on these machines: no registry is reachable): debootstrap Debian bookworm with
# a Docker engine (the node's container runtime stand-in) from the machine's own apt mirror, then
# `docker import` it. About 450 MB and 70 s. The entrypoint layer is added on top by images.ts, so
# changing the entrypoint never re-runs this.
# Usage: build-node-rootfs.sh IMAGE   (skips the work when IMAGE exists)
set -euo pipefail

IMAGE="${1:?usage: build-node-rootfs.sh IMAGE}"
PACKAGES="docker.io,iproute2,iptables,ca-certificates,curl,procps"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "node rootfs: $IMAGE already exists"
  exit 0
fi

# Same mirror discovery as scripts/build-base-image.sh: deb822 sources first, then the legacy list.
mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || { echo "node rootfs: no Debian mirror found in the apt sources" >&2; exit 1; }

# One debootstrap at a time on this 2-core machine (the base image script may run concurrently).
exec 9>/tmp/mlkube-debootstrap.lock
flock 9

root=$(mktemp -d /var/tmp/mlkube-sim-node.XXXXXX)
trap 'rm -rf "$root" "$root.log"' EXIT
echo "node rootfs: debootstrap bookworm ($PACKAGES) from $mirror (about 70 s)"
started=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -30 "$root.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'ENV container=docker' - "$IMAGE" >/dev/null
echo "node rootfs: built $IMAGE in $(( $(date +%s) - started )) s"
