// Step by step through one head with the model's real numbers (/api/qkv):
// q and k, the scores q·kᵀ, the scaling by 1/√d, the causal mask, the
// softmax (checked against the weights the model reports), and the
// weighted sum of the values.
import { api } from '../api.js';
import { state, set, num } from '../state.js';
import { color, matrixImage } from '../color.js';
import { display } from '../attn.js';
import { h } from './common.js';

const maxTable = 16; // tokens; beyond, matrices are canvas images

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (m.images || !state.text) { el.replaceChildren(h('p', {}, 'The step-by-step view needs a text model and a sentence.')); return null; }
  if (m.encoder_decoder && state.stack && state.stack !== 'self') { set({ stack: 'self' }); return null; }
  const L = num('layer'), H = num('head');
  const r = await api('/api/qkv', { model: m.id, text: state.text, layer: L, head: H });
  if (stale()) return null;
  const T = r.tokens.length, d = r.head_size;
  const S = r.q.map((qi) => r.k.map((kj) => dot(qi, kj)));
  const scaled = S.map((row) => row.map((x) => x * r.scale));
  const masked = scaled.map((row, i) => row.map((x, j) => (r.causal && j > i ? -Infinity : x)));
  const A = masked.map(softmax);
  const O = A.map((row) => r.v[0].map((_, c) => row.reduce((s, a, j) => s + a * r.v[j][c], 0)));
  let diff = 0;
  A.forEach((row, i) => row.forEach((x, j) => { diff = Math.max(diff, Math.abs(x - r.weights[i][j])); }));
  const toks = r.tokens.map(display);
  const dims = Array.from({ length: d }, (_, i) => `${i}`);
  const q = Math.min(T - 1, state.focus === '' ? T - 1 : num('focus'));
  const qsel = h('select', { id: 'step-query', 'aria-label': 'query token', onchange: (e) => set({ focus: e.target.value }) },
    ...toks.map((t, i) => new Option(`${i}: ${t}`, String(i))));
  qsel.value = String(q);
  const steps = [
    ['1. queries q = x·W_q (one row per token)', r.q, toks, dims],
    ['2. keys k = x·W_k', r.k, toks, dims],
    ['3. scores q·kᵀ', S, toks, toks],
    [`4. scaled by 1/√d = 1/√${d} = ${r.scale.toFixed(4)}`, scaled, toks, toks],
    [r.causal ? '5. causal mask: a token sees only itself and the past (−∞ above the diagonal)' : '5. no causal mask (an encoder sees both ways)', masked, toks, toks],
    [`6. softmax of each row = the attention weights (the model's own differ by at most ${diff.toExponential(1)})`, A, toks, toks],
    ['7. values v = x·W_v', r.v, toks, dims],
    ['8. output = weights · v (what this head adds for each token)', O, toks, dims],
  ];
  const detail = rowDetail(q, toks, S, scaled, masked, A, r, O[q]);
  el.replaceChildren(
    h('p', { class: 'info' }, `layer ${L} head ${H} · ${T} tokens · head size ${d}`),
    h('div', { class: 'row' }, h('label', {}, 'follow the query ', qsel)),
    detail,
    h('div', { class: 'steps' }, ...steps.map(([title, mat, rows, cols]) => h('section', { class: 'step' }, h('h4', {}, title), matrix(mat, rows, cols, q)))),
  );
  return { json: { layer: L, head: H, tokens: r.tokens, scale: r.scale, causal: r.causal, q: r.q, k: r.k, v: r.v, scores: S, weights: A, output: O }, canvas: null, svg: null };
}

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

function softmax(row) {
  const top = Math.max(...row);
  const e = row.map((x) => (x === -Infinity ? 0 : Math.exp(x - top)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const fmt = (x) => (x === -Infinity ? '−∞' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));

function matrix(mat, rows, cols, hi) {
  const finite = mat.flat().filter(Number.isFinite);
  const lo = Math.min(...finite), top = Math.max(...finite);
  const norm = (x) => (Number.isFinite(x) ? (x - lo) / (top - lo || 1) : 0);
  if (rows.length > maxTable || cols.length > 64) {
    const c = matrixImage(mat.map((r) => r.map(norm)), state.scale);
    c.className = 'matrix';
    c.style.width = `${Math.min(480, cols.length * 4)}px`;
    c.style.height = `${Math.min(480, rows.length * 4)}px`;
    return c;
  }
  return h('table', { class: 'm' },
    h('tr', {}, h('th'), ...cols.map((c) => h('th', {}, c))),
    ...mat.map((row, i) => h('tr', { class: i === hi ? 'hi' : '' }, h('th', {}, rows[i]),
      ...row.map((x) => {
        const t = norm(x);
        const [r, g, b] = color(t, state.scale);
        const ink = t > 0.55 ? '#000' : '#fff';
        return h('td', { style: Number.isFinite(x) ? `background:rgb(${r},${g},${b});color:${ink}` : 'color:#999' }, fmt(x));
      }))));
}

function rowDetail(q, toks, S, scaled, masked, A, r, o) {
  return h('section', { class: 'step' }, h('h4', {}, `query ${q} “${toks[q]}”, key by key`),
    h('table', { class: 'm', id: 'step-row' },
      h('tr', {}, ...['key', 'q·k', '×1/√d', 'masked', 'weight'].map((t) => h('th', {}, t))),
      ...toks.map((t, j) => h('tr', {}, h('th', {}, `${j} ${t}`), h('td', {}, fmt(S[q][j])), h('td', {}, fmt(scaled[q][j])), h('td', {}, fmt(masked[q][j])), h('td', {}, A[q][j].toFixed(3))))),
    h('p', { class: 'info' }, `output[${q}] = Σ_j weight_j · v_j = [${o.slice(0, 8).map((x) => x.toFixed(2)).join(', ')}${o.length > 8 ? ', …' : ''}]`));
}
