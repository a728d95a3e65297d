// Generation, one token at a time: the next-token distribution after
// temperature, top-k and top-p (and the model's own, grey), a click on a
// candidate or Sample appends it, and the attention matrix of the chosen
// head gains a row per new token. Heads switched off in the model view
// (⊘, or o) are switched off here: the grey bars are the intact model.
import { api } from '../api.js';
import { state, set, num, headsOff } from '../state.js';
import { matrixImage } from '../color.js';
import { h, fetchHead } from './common.js';
import { display } from '../attn.js';

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (!m.generates) { el.replaceChildren(h('p', {}, `${m.id} is not a decoder-only language model: pick one (e.g. GPT-2) to generate.`)); return null; }
  const ctl = (id, label, value, attrs) => h('label', {}, `${label} `, h('input', { id, value, type: 'number', ...attrs }));
  const form = h('form', { class: 'row', onsubmit: (e) => {
    e.preventDefault();
    set({ temp: el.querySelector('#gen-temp').value, topk: el.querySelector('#gen-topk').value, topp: el.querySelector('#gen-topp').value });
  } },
  ctl('gen-temp', 'temperature', state.temp, { min: 0.05, max: 2, step: 0.05 }),
  ctl('gen-topk', 'top-k (0 off)', state.topk, { min: 0, step: 1 }),
  ctl('gen-topp', 'top-p', state.topp, { min: 0.05, max: 1, step: 0.05 }),
  h('button', { type: 'submit' }, 'Apply'));
  const off = headsOff();
  const body = { model: m.id, text: state.text, temperature: Number(state.temp), top_k: Number(state.topk), top_p: Number(state.topp), top: 12 };
  const [r, base, hd] = await Promise.all([
    api('/api/next', { ...body, heads_off: off }),
    off.length ? api('/api/next', { ...body, top: 100 }) : null,
    fetchHead(m, state.text, num('layer'), num('head')),
  ]);
  if (stale()) return null;
  const baseProb = new Map((base ? base.top : []).map((c) => [c.id, c.prob]));
  const append = (c) => set({ text: state.text + c.text }, { push: true });
  const bars = h('div', { class: 'bars', id: 'gen-bars' });
  // Bars are relative to the likeliest candidate; the numbers are absolute.
  const scale = Math.max(...r.top.map((c) => c.prob), ...baseProb.values()) || 1;
  const pct = (p) => `${(100 * p / scale).toFixed(1)}%`;
  for (const c of r.top) {
    bars.append(
      h('button', { title: `id ${c.id}; the model's own probability ${(100 * c.raw_prob).toFixed(1)}%`, onclick: () => append(c) }, JSON.stringify(display(c.token))),
      h('div', {}, h('div', { class: 'bar', style: `width:${pct(c.prob)}` }),
        base ? h('div', { class: 'bar base', style: `width:${pct(baseProb.get(c.id) || 0)}` }) : null),
      h('span', {}, `${(100 * c.prob).toFixed(2)}%${base ? ` (intact ${baseProb.has(c.id) ? `${(100 * baseProb.get(c.id)).toFixed(2)}%` : 'outside its top 100'})` : ''}`));
  }
  const sample = () => {
    let u = Math.random(), pick = r.top[0];
    for (const c of r.top) { u -= c.prob; if (u <= 0) { pick = c; break; } }
    append(pick);
  };
  const canvas = matrixImage(hd.w, state.scale, undefined, true);
  canvas.className = 'matrix';
  canvas.style.width = canvas.style.height = `${Math.min(360, Math.max(120, hd.w.length * 12))}px`;
  el.replaceChildren(form,
    h('p', { class: 'info' }, off.length ? `switched off: ${off.map(([l, hh]) => `L${l}H${hh}`).join(', ')} (grey: the intact model)` : 'Switch heads off in the model view (⊘) to see what they contribute.'),
    h('div', { class: 'row' }, h('button', { id: 'gen-sample', onclick: sample }, 'Sample next token'), h('button', { onclick: () => append(r.top[0]) }, 'Take the most likely'),
      h('button', { onclick: () => set({ text: state.text.replace(/\s*\S+\s*$/, '') }, { push: true }) }, 'Undo a word')),
    h('div', { class: 'panels' }, h('div', { class: 'panel' }, h('h3', {}, `next token after “${state.text.slice(-60)}”`), bars),
      h('div', { class: 'panel' }, h('h3', {}, `timeline: ${hd.what}, one row per token`), canvas)));
  return { canvas, json: { text: state.text, heads_off: off, top: r.top, intact: base ? base.top : null } };
}
