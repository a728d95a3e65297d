// Pure functions over attention weights w[query][key]: which lines to
// draw, hiding sink tokens, value weighting, and automatic head labels.

// massKeys returns, for one row, the fewest keys whose weights sum to at
// least mass, heaviest first (ties: the lower key first). The head view
// draws exactly these lines, one per (query, key).
export function massKeys(row, mass) {
  const idx = row.map((_, j) => j).sort((a, b) => row[b] - row[a] || a - b);
  const out = [];
  let sum = 0;
  for (const j of idx) {
    if (sum >= mass || row[j] <= 0) break;
    out.push(j);
    sum += row[j];
  }
  return out;
}

const sinkRe = /^(\[CLS\]|\[SEP\]|<s>|<\/s>|<\|endoftext\|>|<pad>|\[PAD\])$/;

// sinkKeys lists the positions of tokens that soak up attention without
// meaning: [CLS], [SEP], BOS/EOS.
export function sinkKeys(tokens) {
  return tokens.map((t, i) => (sinkRe.test(t) ? i : -1)).filter((i) => i >= 0);
}

// renormalise returns w with the keys in hide zeroed and each row scaled
// back to sum 1 (a row with nothing left stays zero).
export function renormalise(w, hide) {
  const h = new Set(hide);
  return w.map((row) => {
    const r = row.map((x, j) => (h.has(j) ? 0 : x));
    const s = r.reduce((a, b) => a + b, 0);
    return s > 0 ? r.map((x) => x / s) : r;
  });
}

// valueWeighted is ‖α_ij·v_j‖ = α_ij·‖v_j‖, each row normalised to sum 1
// (Kobayashi et al. 2020): a key with a tiny value vector matters little
// however much weight it gets.
export function valueWeighted(w, norms) {
  return renormalise(w.map((row) => row.map((x, j) => x * norms[j])), []);
}

// headLabels scores a head's pattern: previous-token (the weight on i−1),
// first-token sink (the weight on position 0), induction (the weight on
// the token after an earlier occurrence of the current token). Each score
// is a mean weight in [0, 1]; label is the best above 0.4, else ''.
export function headLabels(w, tokens) {
  const n = w.length;
  let prev = 0, sink = 0, ind = 0, nInd = 0;
  for (let i = 0; i < n; i++) {
    sink += w[i][0];
    if (i > 0) prev += w[i][i - 1];
    // The token after the latest earlier occurrence of this one: where
    // an induction head looks to copy what came next last time.
    let p = i - 2;
    while (p >= 0 && tokens[p] !== tokens[i]) p--;
    if (p >= 0) { ind += w[i][p + 1]; nInd++; }
  }
  const scores = {
    previous: n > 1 ? prev / (n - 1) : 0,
    sink: n ? sink / n : 0,
    induction: nInd ? ind / nInd : 0,
  };
  let label = '', best = 0.4;
  for (const [k, v] of Object.entries(scores)) if (v > best) { best = v; label = k; }
  return { label, scores };
}

// display turns a tokenizer's token into what a reader expects to see.
export function display(t) {
  return t.replace(/^Ġ/, ' ').replace(/^▁/, ' ').replace(/Ċ/g, '↵').replace(/Ġ/g, ' ');
}
