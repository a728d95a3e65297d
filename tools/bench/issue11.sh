#!/bin/sh
# Issue 11's speed table (attn against PyTorch, see issue11.py), from any
# directory: sh tools/bench/issue11.sh [REPO_ROOT [issue11.py flags]]. The
# measurements take /tmp/bench.lock themselves: do not wrap this in flock.
set -eu
ROOT=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
[ $# -gt 0 ] && shift
exec /usr/bin/python3 "$ROOT/tools/bench/issue11.py" --root "$ROOT" "$@"
