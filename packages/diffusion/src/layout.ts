// The weight layout: every parameter tensor of the model, in a fixed order, as slices of one
// Float32Array. This is what the update codec packs and the aggregator sums, so it is versioned
// and fingerprinted: a device whose layout differs from the server's is refused.

export interface LayoutEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface WeightLayout {
  version: 1;
  entries: LayoutEntry[];
  total: number;
}

export function buildLayout(params: { name: string; shape: number[] }[]): WeightLayout {
  const seen = new Set<string>();
  let offset = 0;
  const entries = params.map(({ name, shape }) => {
    if (seen.has(name)) throw new Error(`duplicate parameter name ${name}`);
    seen.add(name);
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { name, shape: [...shape], offset, size };
    offset += size;
    return entry;
  });
  return { version: 1, entries, total: offset };
}

/** A short hash (16 hex digits, two FNV-1a 32-bit lanes) of the layout's version, names and shapes. */
export function layoutFingerprint(layout: WeightLayout): string {
  const text = `v${layout.version};` + layout.entries.map((e) => `${e.name}:${e.shape.join('x')}`).join(';');
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h2 >>> 13);
  }
  const hex = (h: number) => (h >>> 0).toString(16).padStart(8, '0');
  return hex(h1) + hex(h2);
}

export function sameLayout(a: WeightLayout, b: WeightLayout): boolean {
  if (a.version !== b.version || a.total !== b.total || a.entries.length !== b.entries.length) return false;
  return a.entries.every((e, i) => {
    const f = b.entries[i];
    return e.name === f.name && e.offset === f.offset && e.size === f.size && e.shape.length === f.shape.length && e.shape.every((d, j) => d === f.shape[j]);
  });
}
