#!/bin/sh
# Installs what the comparison scripts in tools/bench need, from Debian's
# packages: PyTorch (the peer), OpenBLAS (without it Debian's torch falls back
# to the netlib reference BLAS, ~60x slower, and every ratio would flatter us),
# tcmalloc for ../shared/bench/torch-tuned, and sentencepiece for the
# tokenizer fixtures. Node.js/npm (for tools/bench/tokenize.sh) ship with the
# machine. Run once as root:  sh tools/bench/setup.sh
set -eu
apt-get update -qq
apt-get install -y -qq python3-torch python3-numpy python3-sentencepiece \
	libopenblas0-pthread libtcmalloc-minimal4 >/dev/null
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
case "$blas" in
*openblas*) echo "setup: torch will use OpenBLAS ($blas)" ;;
*) echo "setup: WARNING libblas.so.3 -> $blas is not OpenBLAS; PyTorch figures will be far too slow" >&2 ;;
esac
