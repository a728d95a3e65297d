// The model view: every layer × head as a thumbnail of its weights, with
// its automatic label; click one to open it in the head view, press o
// (or the ⊘ button) to switch it off for the Generate view. Layers are
// fetched one at a time and drawn as they arrive.
import { state, set, stack, shape, headsOff, toggleHead } from '../state.js';
import { matrixImage } from '../color.js';
import { h, fetchHead } from './common.js';

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (m.images && !state.text) { el.replaceChildren(h('p', {}, 'This model reads images: open the Image view (6).')); return null; }
  const [nl, nh] = shape(m, stack(m));
  const grid = h('div', { class: 'grid', id: 'model-grid', style: `grid-template-columns: max-content repeat(${nh}, max-content)` });
  grid.append(h('span'), ...Array.from({ length: nh }, (_, i) => h('span', { class: 'rowname' }, `head ${i}`)));
  const off = new Set(headsOff().map(([l, hh]) => `${l}.${hh}`));
  el.replaceChildren(h('p', { class: 'info' }, `${nl} layers × ${nh} heads (${stack(m)} attention). Click a head to open it; ⊘ switches it off for Generate.`), grid);
  const json = [];
  const thumbs = [];
  for (let L = 0; L < nl; L++) {
    grid.append(h('span', { class: 'rowname' }, `layer ${L}`));
    const cells = [];
    for (let H = 0; H < nh; H++) {
      const cell = h('div', { class: `cell${off.has(`${L}.${H}`) ? ' off' : ''}`, tabindex: 0, 'data-layer': L, 'data-head': H, role: 'button', 'aria-label': `layer ${L} head ${H}` });
      const open = () => set({ view: 'head', layer: L, head: H }, { push: true });
      cell.addEventListener('click', (e) => { if (!e.target.closest('button')) open(); });
      cell.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); if (e.key === 'o') { toggleHead(L, H); e.stopPropagation(); } });
      cells.push(cell);
    }
    grid.append(...cells);
    const heads = [];
    for (let H = 0; H < nh; H++) heads.push(await fetchHead(m, state.text, L, H, true));
    if (stale()) return null;
    heads.forEach((hd, H) => {
      const c = matrixImage(hd.w, state.scale, undefined, true);
      thumbs.push([L, H, c]);
      const lab = hd.labels.label;
      const score = lab ? hd.labels.scores[lab].toFixed(2) : '';
      cells[H].append(c, h('span', {}, lab ? `${lab} ${score}` : '\u00a0'),
        h('button', { title: 'switch this head off / on', onclick: () => toggleHead(L, H) }, '⊘'));
      json.push({ layer: L, head: H, label: lab, scores: hd.labels.scores, weights: hd.w });
    });
  }
  return { canvas: sheet(thumbs, nl, nh), json };
}

// sheet lays the thumbnails out on one canvas, for the PNG download.
function sheet(thumbs, nl, nh) {
  const cell = 96, pad = 24;
  const c = h('canvas', { width: pad + nh * cell, height: pad + nl * cell });
  const g = c.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.imageSmoothingEnabled = false;
  g.fillStyle = '#555';
  g.font = '11px sans-serif';
  for (let H = 0; H < nh; H++) g.fillText(`H${H}`, pad + H * cell + 4, 14);
  for (let L = 0; L < nl; L++) g.fillText(`L${L}`, 2, pad + L * cell + 14);
  for (const [L, H, t] of thumbs) g.drawImage(t, pad + H * cell + 4, pad + L * cell + 4, cell - 8, cell - 8);
  return c;
}
