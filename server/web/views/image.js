// ViT: drop an image; the [CLS] token's attention over the patches is laid
// over it (rollout by default, or the chosen layer and head), with the
// model's labels.
import { api } from '../api.js';
import { state, num } from '../state.js';
import { color } from '../color.js';
import { h } from './common.js';

let image = null; // { b64, url }

export async function render(el, ctx, stale) {
  const m = ctx.info;
  if (!m.images) { el.replaceChildren(h('p', {}, `${m.id} reads text; pick a vision model (ViT) for this view.`)); return null; }
  const input = h('input', { type: 'file', accept: 'image/png,image/jpeg', id: 'image-file' });
  const drop = h('div', { class: 'drop' }, 'Drop a PNG or JPEG here, or ', input);
  const take = (file) => {
    const rd = new FileReader();
    rd.onload = () => { image = { url: rd.result, b64: String(rd.result).split(',')[1] }; render(el, ctx, stale); };
    rd.readAsDataURL(file);
  };
  input.onchange = () => input.files[0] && take(input.files[0]);
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) take(e.dataTransfer.files[0]); };
  el.replaceChildren(drop);
  if (!image) return null;
  const L = num('layer'), H = num('head');
  const [r, cls] = await Promise.all([
    api('/api/attention', { model: m.id, image: image.b64, layers: [L], heads: [H], rollout: true }),
    api('/api/classify', { model: m.id, image: image.b64 }),
  ]);
  if (stale()) return null;
  const rollout = state.mode === 'rollout';
  const row = (rollout ? r.rollout : r.weights[0][0])[0].slice(1);
  const [gh, gw] = r.grid;
  const img = new Image();
  await new Promise((res) => { img.onload = res; img.src = image.url; });
  const size = 320;
  const c = h('canvas', { width: size, height: size, id: 'image-overlay' });
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, size, size);
  const top = Math.max(...row) || 1;
  for (let p = 0; p < row.length; p++) {
    const [R, G, B] = color(row[p] / top, state.scale);
    g.fillStyle = `rgba(${R},${G},${B},${(0.15 + 0.6 * row[p] / top).toFixed(3)})`;
    g.fillRect((p % gw) * size / gw, Math.floor(p / gw) * size / gh, size / gw, size / gh);
  }
  const labels = cls.labels[0].slice(0, 5).map((l) => `${l.label} ${(100 * l.prob).toFixed(1)}%`).join(' · ');
  el.append(h('p', { class: 'info' }, `${rollout ? 'rollout over all layers' : `layer ${L} head ${H}`}: the [CLS] token's attention over ${gh}×${gw} patches (set weights to rollout, or pick a layer and head). Labels: ${labels}`), c);
  return { canvas: c, json: { grid: r.grid, cls_attention: row, labels: cls.labels[0] } };
}
