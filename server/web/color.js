// Colour-blind-safe sequential scales (viridis, cividis): perceptually
// uniform and readable in greyscale. Stops sampled from matplotlib's maps.

const maps = {
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
  cividis: ['#00224e', '#123570', '#3b496c', '#575d6d', '#707173', '#8a8779', '#a69d75', '#c4b56c', '#e4cf5b', '#fee838'],
  greys: ['#ffffff', '#000000'],
};

const rgb = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const tables = Object.fromEntries(Object.entries(maps).map(([k, v]) => [k, v.map(rgb)]));

export const scales = Object.keys(maps);

// color returns [r, g, b] for t in [0, 1] on the named scale.
export function color(t, name = 'viridis') {
  const s = tables[name] || tables.viridis;
  t = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (s.length - 1);
  const i = Math.min(s.length - 2, Math.floor(t));
  const f = t - i;
  return s[i].map((c, j) => Math.round(c + (s[i + 1][j] - c) * f));
}

export const css = (t, name) => `rgb(${color(t, name).join(',')})`;

// matrixImage draws w [rows][cols] into a canvas, one pixel a cell,
// scaled to the matrix's maximum, or each row to its own (byRow: where
// each query looks most, even when one row, such as a causal model's
// first, holds all its weight on one key).
export function matrixImage(w, name, canvas = document.createElement('canvas'), byRow = false) {
  const rows = w.length, cols = rows ? w[0].length : 0;
  canvas.width = Math.max(cols, 1); canvas.height = Math.max(rows, 1);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  let top = 0;
  for (const r of w) for (const x of r) if (x > top) top = x;
  top = top || 1;
  for (let i = 0; i < rows; i++) {
    const t = byRow ? Math.max(...w[i]) || 1 : top;
    for (let j = 0; j < cols; j++) {
      const c = color(w[i][j] / t, name);
      const o = 4 * (i * cols + j);
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}
