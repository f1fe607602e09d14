#!/usr/bin/env bash
# Builds the Python + scikit-learn + Flask base image the tests and benchmarks use, without pulling
# anything: debootstrap a Debian root file system from the machine's own apt mirror and import it.
# The result is about 800 MB (a realistically heavy ML image): scikit-learn 1.2.1, Flask 2.2.2, and
# FastAPI with uvicorn for the ASGI template. The tag changes whenever the package list does.
# Skips the work when the image already exists.
# MLKUBE_DEBIAN_MIRROR names the mirror where the apt sources have no Debian one (an Ubuntu CI
# runner: http://deb.debian.org/debian, with the debian-archive-keyring package installed).
set -euo pipefail

IMAGE="${MLKUBE_BASE_IMAGE:-mlkube-test/python-sklearn:bookworm-2}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-base-image: $IMAGE already exists"
  exit 0
fi

mirror="${MLKUBE_DEBIAN_MIRROR:-}"
[ -n "$mirror" ] || mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || { echo "build-base-image: no Debian mirror found in the apt sources; set MLKUBE_DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"; exit 1; }

root=$(mktemp -d /var/tmp/mlkube-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "build-base-image: debootstrap bookworm from $mirror (about 2.5 minutes)"
started=$(date +%s)
# --force-check-gpg: a mirror named by hand is still checked against Debian's archive keyring.
debootstrap --force-check-gpg --variant=minbase --include=python3,python3-flask,python3-sklearn,python3-fastapi,python3-uvicorn bookworm "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -30 "$root.log"; exit 1; }
rm -f "$root.log"
# Keep the image lean and deterministic: no apt lists or caches.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "build-base-image: built $IMAGE in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1000000}'))"
