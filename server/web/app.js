// The explorer's shell: the model and sentence inputs, the tabs, the
// shared controls, keyboard navigation and downloads. Each view is a
// module with render(el, ctx) that may return what it can export.
import { api } from './api.js';
import { state, load, set, onChange, num, shape, stack, toggleHead } from './state.js';
import { scales } from './color.js';
import { download } from './export.js';
import * as head from './views/head.js';
import * as modelView from './views/model.js';
import * as step from './views/step.js';
import * as embed from './views/embed.js';
import * as gen from './views/gen.js';
import * as image from './views/image.js';

const views = { head, model: modelView, step, embed, gen, image };
const $ = (id) => document.getElementById(id);

export const examples = [
  { name: '"it" → "dog"', text: 'The dog chased the ball because it was excited', word: 'it' },
  { name: 'river bank / investment bank', text: 'We sat on the river bank', b: 'She works at the investment bank', word: 'bank' },
  { name: 'Dog bites man / Man bites dog', text: 'Dog bites man', b: 'Man bites dog', word: 'bites' },
  { name: 'induction (repeated text)', text: 'Harry Potter went to the shop. Harry Potter went to the shop.' },
];

let models = [];
let exported = null;
let renderSeq = 0;

const ctx = {
  info: null,
  status(msg, error = false) {
    const s = $('status');
    s.textContent = msg;
    s.classList.toggle('error', error);
  },
};

function info() { return models.find((m) => m.id === state.model) || models[0]; }

function fillSelect(sel, n, value) {
  if (sel.options.length !== n) sel.replaceChildren(...Array.from({ length: n }, (_, i) => new Option(String(i), String(i))));
  sel.value = value;
}

function syncControls() {
  const m = info();
  ctx.info = m;
  if (!m) return;
  $('model').value = m.id;
  if (document.activeElement !== $('text')) $('text').value = state.text;
  if (document.activeElement !== $('textb')) $('textb').value = state.b;
  $('stack-box').hidden = !m.encoder_decoder;
  $('stack').value = stack(m);
  const [nl, nh] = shape(m, stack(m));
  fillSelect($('layer'), nl, String(Math.min(num('layer'), nl - 1)));
  fillSelect($('head'), nh, String(Math.min(num('head'), nh - 1)));
  $('mode').value = state.mode;
  $('mass').value = state.mass;
  $('hide').checked = state.hide === '1';
  $('scale').value = state.scale;
  for (const b of $('tabs').children) b.setAttribute('aria-selected', String(b.dataset.view === state.view));
}

async function render() {
  syncControls();
  const seq = ++renderSeq;
  const v = views[state.view] || head;
  const el = $('view');
  ctx.status('');
  try {
    const out = await v.render(el, ctx, () => seq !== renderSeq);
    if (seq === renderSeq) exported = out || null;
  } catch (e) {
    if (seq === renderSeq) ctx.status(e.message, true);
  }
}

async function main() {
  load();
  $('scale').replaceChildren(...scales.map((s) => new Option(s, s)));
  $('examples').append(...examples.map((e, i) => new Option(e.name, String(i))));
  try {
    models = (await api('/api/models')).models;
  } catch (e) {
    ctx.status(`cannot list the models: ${e.message}`, true);
    return;
  }
  $('model').replaceChildren(...models.map((m) => new Option(`${m.id} (${m.architecture})`, m.id)));
  if (!models.some((m) => m.id === state.model)) {
    const m = models.find((x) => x.generates) || models[0];
    set({ model: m ? m.id : '' });
  }
  if (!state.text && !info()?.images) set({ text: examples[0].text, word: examples[0].word });
  wire();
  onChange((changes) => {
    // A new focus only redraws the head view's lines, not the view.
    const v = views[state.view];
    if (Object.keys(changes).length === 1 && 'focus' in changes && v.refocus && v.refocus()) return;
    render();
  });
  render();
}

function wire() {
  $('model').onchange = () => set({ model: $('model').value, layer: 0, head: 0, focus: '', stack: '', off: '' }, { push: true });
  $('input').onsubmit = (e) => { e.preventDefault(); set({ text: $('text').value, b: $('textb').value, focus: '' }, { push: true }); };
  $('examples').onchange = () => {
    const ex = examples[Number($('examples').value)];
    if (ex) set({ text: ex.text, b: ex.b || '', word: ex.word || state.word, focus: '' }, { push: true });
    $('examples').value = '';
  };
  $('tabs').onclick = (e) => { if (e.target.dataset.view) set({ view: e.target.dataset.view }, { push: true }); };
  $('layer').onchange = () => set({ layer: $('layer').value });
  $('head').onchange = () => set({ head: $('head').value });
  $('stack').onchange = () => set({ stack: $('stack').value, layer: 0, head: 0, focus: '' });
  $('mode').onchange = () => set({ mode: $('mode').value });
  $('mass').onchange = () => set({ mass: $('mass').value });
  $('hide').onchange = () => set({ hide: $('hide').checked ? '1' : '0' });
  $('scale').onchange = () => set({ scale: $('scale').value });
  document.querySelector('.downloads').onclick = (e) => {
    const kind = e.target.dataset.dl;
    if (!kind) return;
    if (!exported) { ctx.status('nothing to download in this view', true); return; }
    download(kind, exported, `attn-${state.view}-L${state.layer}H${state.head}`).catch((err) => ctx.status(err.message, true));
  };
  document.addEventListener('keydown', keys);
}

function keys(e) {
  const t = e.target;
  if (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || e.ctrlKey || e.metaKey || e.altKey) return;
  const m = info();
  if (!m) return;
  const [nl, nh] = shape(m, $('stack').value);
  const k = e.key;
  const tabs = Object.keys(views);
  if (k >= '1' && k <= String(tabs.length)) set({ view: tabs[Number(k) - 1] }, { push: true });
  else if (k === 'ArrowRight') set({ head: (num('head') + 1) % nh });
  else if (k === 'ArrowLeft') set({ head: (num('head') + nh - 1) % nh });
  else if (k === 'ArrowDown') set({ layer: (num('layer') + 1) % nl });
  else if (k === 'ArrowUp') set({ layer: (num('layer') + nl - 1) % nl });
  else if (k === 'j' || k === 'k') {
    const n = document.querySelectorAll('svg.head text.q').length / Math.max(1, document.querySelectorAll('svg.head').length);
    if (!n) return;
    const f = state.focus === '' ? (k === 'j' ? -1 : n) : num('focus');
    set({ focus: (f + (k === 'j' ? 1 : -1) + n) % n });
  } else if (k === 'Escape') set({ focus: '' });
  else if (k === 'o') toggleHead(num('layer'), num('head'));
  else return;
  if (t.tagName === 'SELECT') t.blur();
  e.preventDefault();
}

main();
