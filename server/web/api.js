// The API client: JSON in, JSON out, the server's one error shape turned
// into an Error; the API key (attn serve --api-key) asked for once.

let key = sessionStorage.getItem('attn-key') || '';

export async function api(path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = { 'Content-Type': 'application/json' };
    if (key) headers.Authorization = `Bearer ${key}`;
    const resp = await fetch(path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
    const data = await resp.json().catch(() => ({ error: { message: `${resp.status} ${resp.statusText}` } }));
    if (resp.status === 401 && attempt === 0) {
      key = prompt('This server needs an API key:') || '';
      sessionStorage.setItem('attn-key', key);
      continue;
    }
    if (!resp.ok) throw new Error(data.error ? data.error.message : `${resp.status}`);
    return data;
  }
  throw new Error('unauthorised');
}

// The weights of one layer, fetched once per (model, text, target, layer,
// options): a view asks for one layer at a time, so a long text stays
// responsive.
const cache = new Map();

export function layer(req) {
  const k = JSON.stringify(req);
  if (!cache.has(k)) {
    const p = api('/api/attention', req);
    p.catch(() => cache.delete(k));
    cache.set(k, p);
    if (cache.size > 256) cache.delete(cache.keys().next().value);
  }
  return cache.get(k);
}
