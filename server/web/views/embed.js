// The contextual-embedding comparison: one word's vector in two
// sentences, layer by layer (cosine similarity). "bank" by a river and
// "bank" of investment start identical and drift apart as attention mixes
// in their contexts.
import { api } from '../api.js';
import { state, set } from '../state.js';
import { css } from '../color.js';
import { h } from './common.js';

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (m.images) { el.replaceChildren(h('p', {}, 'This view needs a text model.')); return null; }
  const word = h('input', { id: 'embed-word', value: state.word, size: 12, 'aria-label': 'word' });
  const b = h('input', { id: 'embed-b', value: state.b, size: 40, 'aria-label': 'second sentence' });
  const form = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); set({ word: word.value, b: b.value }); } },
    h('label', {}, 'word ', word), h('span', {}, `in “${state.text}” and `), b, h('button', { type: 'submit' }, 'Compare'));
  el.replaceChildren(form);
  if (!state.word || !state.b) {
    el.append(h('p', { class: 'info' }, 'Pick a word that occurs in both sentences (try the river bank / investment bank example).'));
    return null;
  }
  const r = await api('/api/similarity', { model: m.id, word: state.word, a: state.text, b: state.b });
  if (stale()) return null;
  const n = r.layers.length, bw = 36, H = 180;
  const svg = h('svg:svg', { id: 'embed-svg', width: 60 + n * bw, height: H + 50, role: 'img', 'aria-label': 'cosine similarity by layer' });
  svg.append(h('svg:text', { x: 4, y: 14, 'font-size': 12 }, 'cosine'));
  r.layers.forEach((l, i) => {
    const c = Math.max(-1, Math.min(1, l.cosine));
    const hgt = ((c + 1) / 2) * H;
    svg.append(
      h('svg:rect', { x: 50 + i * bw, y: 20 + H - hgt, width: bw - 6, height: hgt, fill: css((c + 1) / 2, state.scale) }),
      h('svg:text', { x: 50 + i * bw, y: 20 + H - hgt - 3, 'font-size': 10 }, c.toFixed(3)),
      h('svg:text', { x: 50 + i * bw, y: H + 36, 'font-size': 11 }, l.layer === 0 ? 'emb' : `L${l.layer}`));
  });
  el.append(h('p', { class: 'info' }, `“${state.word}”: layer 0 is the embedding (identical in both unless position differs); each later layer has attended to its sentence.`), svg);
  return { svg, json: r };
}
