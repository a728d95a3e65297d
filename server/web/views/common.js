// What several views share: fetching one head's weights as the controls
// ask for them (stack, value weighting, rollout, hidden sinks), the token
// strip, and small DOM helpers.
import { layer } from '../api.js';
import { state, stack } from '../state.js';
import { sinkKeys, renormalise, valueWeighted, headLabels, display } from '../attn.js';

export const svgNS = 'http://www.w3.org/2000/svg';

export function h(tag, attrs = {}, ...kids) {
  const e = tag.startsWith('svg:') ? document.createElementNS(svgNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined));
  return e;
}

// request is the /api/attention body for one layer of text (one head of
// it when H is given): encoder-decoders are small and take every layer at
// once (their stacks differ in depth), the others one layer, so that a
// long text stays responsive.
export function request(m, text, L, H) {
  const req = { model: m.id, text };
  if (m.encoder_decoder) req.target = state.target;
  else {
    req.layers = [L];
    if (H !== undefined) req.heads = [H];
  }
  if (state.mode === 'value' && stack(m) === 'self') req.value_norms = true;
  if (state.mode === 'rollout' && stack(m) === 'self') req.rollout = true;
  return req;
}

// fetchHead returns one head's weights as the views draw them: w[q][k],
// the query and key tokens, the raw response, and the head's labels.
// wholeLayer fetches all the layer's heads at once (the model view).
export async function fetchHead(m, text, L, H, wholeLayer = false) {
  const one = !wholeLayer && !m.encoder_decoder;
  const r = await layer(request(m, text, L, one ? H : undefined));
  const st = stack(m);
  const li = m.encoder_decoder ? L : 0;
  const hi = one ? 0 : H;
  let w, qt = r.tokens, kt = r.tokens, what = `layer ${L} head ${H}`;
  if (st === 'cross') { w = r.cross_weights[li][hi]; qt = r.decoder_tokens; }
  else if (st === 'decoder') { w = r.decoder_weights[li][hi]; qt = kt = r.decoder_tokens; }
  else if (state.mode === 'rollout') { w = r.rollout; what = 'rollout (all layers, heads averaged)'; }
  else w = r.weights[li][hi];
  if (state.mode === 'value' && r.value_norms) { w = valueWeighted(w, r.value_norms[li][hi]); what += ', value-weighted ‖α·v‖'; }
  if (state.hide === '1') w = renormalise(w, sinkKeys(kt));
  return { w, qt, kt, r, what, labels: qt === kt ? headLabels(w, kt) : headLabels([], []) };
}

export function strip(tokens) {
  return h('div', { class: 'strip', 'aria-label': 'tokens' }, ...tokens.map((t, i) => h('span', { title: `${i}: ${t}` }, display(t))));
}

export function labelText(l) {
  const s = l.scores;
  const name = { previous: 'a previous-token head', sink: 'a first-token sink', induction: 'an induction head' }[l.label];
  return `${name ? `looks like ${name} · ` : ''}previous ${s.previous.toFixed(2)} · sink ${s.sink.toFixed(2)} · induction ${s.induction.toFixed(2)}`;
}
