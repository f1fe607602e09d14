#!/bin/sh
# containerd wrapper in the simulated node. The node's runtime is Docker, whose dockerd starts the
# real /usr/bin/containerd (found through PATH, so this wrapper passes every other call on to it).
# It answers the one call mlkube makes as kind's node would:
#   containerd config dump   -> the effective configuration: here /etc/containerd/config.toml, which
#                               the kind stand-in writes for the parts the simulator obeys
#                               (node/containerd-config.ts); real containerd also prints every default.
set -eu
if [ "${1:-}" = "config" ] && [ "${2:-}" = "dump" ]; then
  exec cat /etc/containerd/config.toml
fi
exec /usr/bin/containerd "$@"
