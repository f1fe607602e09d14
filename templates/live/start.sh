#!/bin/sh
# Entry point of mlkube's dev layer: ENTRYPOINT ["/bin/sh", ".../start.sh", ORIGINAL ENTRYPOINT...]
# with the original CMD as CMD, so this script gets the image's command as its arguments.
# A Python server gets the Python supervisor, run by the server's own interpreter (the warm parent
# must import the very libraries the server would). Anything else, a Python older than 3.9, or
# MLKUBE_SUPERVISOR=sh gets the sh supervisor.
here=$(dirname "$0")

# The interpreter a command runs under when it is Python: `python3 app.py`, a console script
# whose shebang names Python (gunicorn, uvicorn), and the same in shell form (`sh -c "..."`).
python_of() {
  case "${1##*/}" in
    sh | bash | dash)
      [ "$2" = "-c" ] || return 0
      set -f
      # shellcheck disable=SC2086 # splitting the command string into words is the point
      set -- $3
      set +f
      [ "$1" = exec ] && shift
      [ $# -gt 0 ] || return 0
      ;;
  esac
  case "${1##*/}" in
    python | python[0-9]*)
      command -v "$1" 2>/dev/null
      return 0
      ;;
  esac
  path=$(command -v "$1" 2>/dev/null) || return 0
  [ -f "$path" ] && [ -r "$path" ] || return 0
  IFS= read -r first <"$path" || return 0
  case "$first" in
    '#!'*python*)
      set -f
      # shellcheck disable=SC2086
      set -- ${first#??}
      set +f
      if [ "${1##*/}" = env ]; then command -v "$2" 2>/dev/null; else echo "$1"; fi
      ;;
  esac
}

interpreter=$(python_of "$@")
if [ -z "$interpreter" ]; then
  reason="not a Python command"
elif [ "${MLKUBE_SUPERVISOR:-}" = sh ]; then
  reason="MLKUBE_SUPERVISOR=sh"
elif ! "$interpreter" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  reason="$interpreter is not Python 3.9+"
else
  exec "$interpreter" "$here/supervisor.py" -- "$@"
fi
exec /bin/sh "$here/supervisor.sh" --reason "$reason" -- "$@"
