// The head view: each query token on the left, each key on the right, a
// line from a query to every key among the heaviest that carry `mass` of
// its attention, as strong as the weight. Hover a token to see only its
// lines; click to keep it; the heat matrix beside is a canvas image.
import { api } from '../api.js';
import { state, set, num, stack } from '../state.js';
import { css, matrixImage } from '../color.js';
import { massKeys, display } from '../attn.js';
import { h, fetchHead, strip, labelText } from './common.js';

// Beyond this many tokens the view draws lines only for a focused token.
const maxAllLines = 128;

// The panels on screen redraw their lines for a new focus.
let redraws = [];

// refocus redraws the lines for state.focus; false when nothing is shown.
export function refocus() {
  if (!redraws.length || !redraws.every((f) => f.isConnected())) return false;
  for (const f of redraws) f.draw(state.focus === '' ? -1 : num('focus'));
  return true;
}

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (m.images) { el.replaceChildren(h('p', {}, 'This model reads images: open the Image view (6).')); return null; }
  if (!state.text) { el.replaceChildren(h('p', {}, 'Type a sentence above.')); return null; }
  const L = num('layer'), H = num('head');
  const texts = state.b ? [state.text, state.b] : [state.text];
  const heads = await Promise.all(texts.map((t) => fetchHead(m, t, L, H)));
  if (stale()) return null;
  const kids = [strip(heads[0].kt)];
  if (m.encoder_decoder) kids.push(targetBox(m));
  const panels = heads.map((hd, i) => panel(hd, i, texts[i]));
  redraws = panels.map((p) => ({ draw: p.draw, isConnected: () => p.svg.isConnected }));
  kids.push(h('div', { class: 'panels' }, ...panels.map((p) => p.el)));
  el.replaceChildren(...kids);
  return { svg: panels[0].svg, json: heads.map((hd, i) => ({ text: texts[i], layer: L, head: H, attention: stack(m), mode: state.mode, query_tokens: hd.qt, key_tokens: hd.kt, weights: hd.w, labels: hd.labels })) };
}

function targetBox(m) {
  const input = h('input', { id: 'target', value: state.target, size: 40, 'aria-label': 'target text', placeholder: 'target (decoder) text' });
  return h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); set({ target: input.value }); } },
    h('label', {}, 'target ', input), h('button', { type: 'submit' }, 'Set'),
    h('button', { type: 'button', onclick: async () => { set({ target: (await api('/api/translate', { model: m.id, text: state.text })).text }); } }, 'Translate'));
}

function panel(hd, idx, text) {
  const { w, qt, kt } = hd;
  const n = Math.max(qt.length, kt.length);
  const rowH = n > 64 ? 11 : 18;
  const lx = 150, rx = 330, width = 480;
  const y = (i) => 14 + i * rowH;
  const svg = h('svg:svg', { class: 'head', id: `head-svg-${idx}`, width, height: y(n) + 4, role: 'img', 'aria-label': `attention lines, ${text}` });
  const lines = h('svg:g', { class: 'lines' });
  svg.append(lines);
  const mass = Math.min(1, Math.max(0.01, Number(state.mass) || 0.9));
  let fixed = state.focus === '' ? -1 : num('focus');
  const qs = qt.map((t, i) => h('svg:text', { class: 'tok q', x: lx - 6, y: y(i) + 4, 'text-anchor': 'end', 'data-i': i, tabindex: 0 }, display(t)));
  const ks = kt.map((t, j) => h('svg:text', { class: 'tok k', x: rx + 6, y: y(j) + 4, 'data-j': j }, display(t)));
  svg.append(...qs, ...ks);
  const info = h('p', { class: 'info' });
  // One dark colour of the scale: strength is opacity and width, which
  // reads on a light page for any scale.
  const lineColor = css(0.15, state.scale);
  const draw = (focus) => {
    const rows = focus >= 0 && focus < qt.length ? [focus] : qt.length <= maxAllLines ? qt.map((_, i) => i) : [];
    const out = [];
    for (const i of rows) {
      const top = Math.max(...w[i]) || 1;
      for (const j of massKeys(w[i], mass)) {
        out.push(h('svg:line', {
          class: 'attn', x1: lx, y1: y(i), x2: rx, y2: y(j), 'data-q': i, 'data-k': j, 'data-w': w[i][j],
          stroke: lineColor, 'stroke-opacity': (0.15 + 0.85 * w[i][j] / top).toFixed(3), 'stroke-width': (0.8 + 3 * w[i][j]).toFixed(2),
        }));
      }
    }
    lines.replaceChildren(...out);
    const hot = new Set(out.map((l) => Number(l.dataset.k)));
    // Only the labels whose class changes are touched: at 512 tokens a
    // restyle of all of them costs more than the lines.
    const restyle = (t, c) => { if (t.getAttribute('class') !== c) t.setAttribute('class', c); };
    qs.forEach((t, i) => restyle(t, `tok q${i === focus ? ' focus' : ''}${focus >= 0 && i !== focus ? ' dim' : ''}`));
    ks.forEach((t, j) => restyle(t, `tok k${focus >= 0 && !hot.has(j) ? ' dim' : ''}`));
    info.textContent = `${out.length} lines (each token's heaviest keys up to ${Math.round(mass * 100)}% of its attention)` +
      (rows.length === 0 ? ` · ${qt.length} tokens: hover or click a token to draw its lines` : '');
  };
  const refocus = (f) => { fixed = f; draw(f); };
  draw(fixed);
  svg.addEventListener('mouseover', (e) => { const i = e.target.dataset?.i; if (i !== undefined) draw(Number(i)); });
  svg.addEventListener('mouseleave', () => draw(fixed));
  const choose = (e) => { const i = e.target.dataset?.i; if (i !== undefined) set({ focus: state.focus === i ? '' : i }); };
  svg.addEventListener('click', choose);
  svg.addEventListener('keydown', (e) => { if (e.key === 'Enter') choose(e); });
  const size = Math.min(420, Math.max(200, n * 12));
  const canvas = matrixImage(w, state.scale, undefined, true);
  canvas.className = 'matrix';
  canvas.style.width = canvas.style.height = `${size}px`;
  canvas.title = 'rows: queries · columns: keys (each row scaled to its largest weight)';
  const title = h('h3', {}, idx === 0 && !state.b ? hd.what : `${hd.what} — “${text}”`);
  const el = h('div', { class: 'panel', 'data-panel': idx }, title, h('p', { class: 'info labels' }, labelText(hd.labels)), info, h('div', { class: 'row' }, svg, canvas));
  return { el, svg, draw: refocus };
}
