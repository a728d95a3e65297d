#!/bin/sh
# fresh-clone.sh checks the README's promise on a clean clone in a
# temporary directory: its first command (the demo) runs, its second (the
# tests) passes. It runs exactly the first two commands of the README's
# first code block, with an empty ATTN_HOME and no network for attn.
#
#   sh tools/fresh-clone.sh
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/attn"
cd "$tmp/attn"
# The first code block's first two commands, comments stripped.
awk '/^```/{n++; next} n==1' README.md | sed 's/[[:space:]]*#.*$//' | grep -v '^[[:space:]]*$' | head -2 > "$tmp/commands"
[ "$(wc -l < "$tmp/commands")" -eq 2 ] || { echo "fresh-clone: the README's first code block does not start with two commands" >&2; exit 1; }
export ATTN_HOME="$tmp/home" ATTN_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:9
i=0
while IFS= read -r c; do
	i=$((i + 1))
	echo "── fresh clone, command $i: $c"
	start=$(date +%s)
	sh -c "$c"
	echo "── command $i passed in $(($(date +%s) - start)) s"
done < "$tmp/commands"
