// Downloads of a view: its SVG as drawn, a PNG of it (or of its canvas),
// or the numbers behind it as JSON.

function save(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function svgText(svg) {
  const c = svg.cloneNode(true);
  c.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = 'text{font:12px monospace;fill:#1d1d1f}text.dim{fill:#b9b9bf}text.focus{font-weight:bold;fill:#3e4989}';
  c.prepend(style);
  return new XMLSerializer().serializeToString(c);
}

async function png(out) {
  if (out.canvas) return new Promise((res) => out.canvas.toBlob(res, 'image/png'));
  if (!out.svg) throw new Error('this view has no picture');
  const img = new Image();
  const url = URL.createObjectURL(new Blob([svgText(out.svg)], { type: 'image/svg+xml' }));
  await new Promise((res, rej) => { img.onload = res; img.onerror = () => rej(new Error('cannot render the SVG')); img.src = url; });
  const c = document.createElement('canvas');
  c.width = img.width * 2; c.height = img.height * 2;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  g.drawImage(img, 0, 0, c.width, c.height);
  URL.revokeObjectURL(url);
  return new Promise((res) => c.toBlob(res, 'image/png'));
}

export async function download(kind, out, name) {
  if (kind === 'json') return save(new Blob([JSON.stringify(out.json, null, 1)], { type: 'application/json' }), `${name}.json`);
  if (kind === 'svg') {
    if (!out.svg) throw new Error('this view has no SVG (try PNG)');
    return save(new Blob([svgText(out.svg)], { type: 'image/svg+xml' }), `${name}.svg`);
  }
  return save(await png(out), `${name}.png`);
}
