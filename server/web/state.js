// View state lives in the URL's query string, so that any view can be
// linked, reloaded and navigated with the browser's back button.

const defaults = {
  model: '', text: '', b: '', view: 'head', layer: '0', head: '0', focus: '',
  mass: '0.9', mode: 'raw', hide: '0', stack: '', off: '', scale: 'viridis',
  target: '', word: '', temp: '1', topk: '0', topp: '1', q: '',
};

export const state = { ...defaults };
const listeners = [];

export function load() {
  const p = new URLSearchParams(location.search);
  for (const k of Object.keys(defaults)) state[k] = p.has(k) ? p.get(k) : defaults[k];
}

// set changes some keys, writes the URL and tells the listeners.
export function set(changes, { push = false } = {}) {
  let changed = false;
  for (const [k, v] of Object.entries(changes)) {
    const s = v == null ? '' : String(v);
    if (state[k] !== s) { state[k] = s; changed = true; }
  }
  if (!changed) return;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== defaults[k]) p.set(k, v);
  const url = `${location.pathname}?${p.toString()}`;
  if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
  for (const fn of listeners) fn(changes);
}

export function onChange(fn) { listeners.push(fn); }

window.addEventListener('popstate', () => { load(); for (const fn of listeners) fn({ view: state.view }); });

export const num = (k) => Number(state[k]);

// headsOff parses "l.h,l.h" into [[l, h], …].
export function headsOff() {
  return state.off ? state.off.split(',').map((s) => s.split('.').map(Number)) : [];
}

export function toggleHead(l, h) {
  const key = `${l}.${h}`;
  const cur = state.off ? state.off.split(',') : [];
  const i = cur.indexOf(key);
  if (i >= 0) cur.splice(i, 1); else cur.push(key);
  set({ off: cur.join(',') });
}

// shape returns the layers and heads of a model's stack (self, decoder,
// cross).
export function shape(m, stack) {
  return stack === 'decoder' || stack === 'cross' ? [m.decoder_layers, m.decoder_heads] : [m.layers, m.heads];
}

// stack is the attention the views show for model m.
export const stack = (m) => (m.encoder_decoder ? (state.stack || 'cross') : 'self');
