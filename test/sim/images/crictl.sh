#!/bin/sh
# crictl stand-in for the simulated node, whose container runtime is Docker rather than containerd.
# Answers the calls mlkube makes, in crictl's JSON shape, from the node's own engine:
#   crictl inspecti -o json IMAGE   -> {"status": {"id": "sha256:...", "repoTags": [...], "size": "..."}}
# An absent image exits 1 with crictl's message, as the real tool does.
set -eu
command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  inspecti)
    if [ "${1:-}" = "-o" ] || [ "${1:-}" = "--output" ]; then shift 2; fi
    image="${1:?crictl inspecti needs an image}"
    docker image inspect --format '{"status":{"id":"{{.Id}}","repoTags":{{json .RepoTags}},"size":"{{.Size}}"}}' "$image" 2>/dev/null \
      || { echo "FATA[0000] no such image \"$image\" present" >&2; exit 1; }
    ;;
  *)
    echo "crictl (simulator stand-in): '$command' is not simulated; see test/sim/README.md" >&2
    exit 1
    ;;
esac
