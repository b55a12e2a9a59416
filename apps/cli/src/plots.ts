// Small dependency-free SVG charts for experiment results: lines, a scatter and grouped bars.
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const W = 720;
const H = 420;
const M = { left: 80, right: 170, top: 40, bottom: 56 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step = 10 ** Math.floor(Math.log10((hi - lo) / count));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= count) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + nice * 1e-9; v += nice) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

function frame(title: string, xLabel: string, yLabel: string, x: [number, number], y: [number, number], body: string, legend: string[], numericX = true): string {
  const sx = (v: number) => M.left + ((v - x[0]) / (x[1] - x[0] || 1)) * (W - M.left - M.right);
  const sy = (v: number) => H - M.bottom - ((v - y[0]) / (y[1] - y[0] || 1)) * (H - M.top - M.bottom);
  const xt = (numericX ? ticks(x[0], x[1]) : []).map((v) => `<line x1="${sx(v)}" y1="${H - M.bottom}" x2="${sx(v)}" y2="${H - M.bottom + 5}" stroke="#333"/><text x="${sx(v)}" y="${H - M.bottom + 20}" text-anchor="middle">${fmt(v)}</text>`);
  const yt = ticks(y[0], y[1]).map(
    (v) => `<line x1="${M.left - 5}" y1="${sy(v)}" x2="${W - M.right}" y2="${sy(v)}" stroke="#ddd"/><text x="${M.left - 8}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
  );
  const leg = legend.map(
    (name, i) => `<rect x="${W - M.right + 14}" y="${M.top + i * 20}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${W - M.right + 32}" y="${M.top + i * 20 + 10}">${esc(name)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>
${yt.join('\n')}
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>
<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>
${xt.join('\n')}
<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>
${body.replace(/SX\(([^)]+)\)/g, (_, v) => String(sx(Number(v)))).replace(/SY\(([^)]+)\)/g, (_, v) => String(sy(Number(v))))}
${leg.join('\n')}
</svg>
`;
}

function extent(values: number[], zero = false): [number, number] {
  const finite = values.filter(Number.isFinite);
  let lo = Math.min(...finite, zero ? 0 : Infinity);
  let hi = Math.max(...finite);
  if (!finite.length) return [0, 1];
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const pad = (hi - lo) * 0.05;
  return [zero && lo >= 0 ? lo : lo - pad, hi + pad];
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const x = extent(series.flatMap((s) => s.points.map((p) => p[0])));
  const y = extent(series.flatMap((s) => s.points.map((p) => p[1])), true);
  const body = series
    .map((s, i) => {
      const d = s.points.map(([px, py], j) => `${j ? 'L' : 'M'}SX(${px}) SY(${py})`).join(' ');
      const dots = s.points.map(([px, py]) => `<circle cx="SX(${px})" cy="SY(${py})" r="2.5" fill="${COLORS[i % COLORS.length]}"/>`).join('');
      return `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>${dots}`;
    })
    .join('\n');
  return frame(title, xLabel, yLabel, x, y, body, series.map((s) => s.name));
}

export function scatterChart(title: string, xLabel: string, yLabel: string, points: Array<{ name: string; x: number; y: number }>): string {
  const x = extent(points.map((p) => p.x), true);
  const y = extent(points.map((p) => p.y), true);
  // Names go in the legend, not beside the points: policies of near-equal energy and quality sit
  // on top of each other, and their labels overlapped. Rings that shrink with the index keep every
  // point visible when two coincide.
  const body = points
    .map((p, i) => `<circle cx="SX(${p.x})" cy="SY(${p.y})" r="${Math.max(3, 10 - 1.5 * i)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2.5"><title>${esc(p.name)}</title></circle>`)
    .join('\n');
  return frame(title, xLabel, yLabel, x, y, body, points.map((p) => p.name));
}

/** Bars grouped by category (x), one bar per series in each group. */
export function barChart(title: string, xLabel: string, yLabel: string, categories: string[], series: Array<{ name: string; values: number[] }>): string {
  const y = extent(series.flatMap((s) => s.values), true);
  const groups = categories.length;
  const x: [number, number] = [-0.5, groups - 0.5];
  const width = 0.8 / Math.max(1, series.length);
  const bars = series
    .map((s, i) =>
      s.values
        .map((v, g) => {
          const left = g - 0.4 + i * width;
          return `<path d="M SX(${left}) SY(0) L SX(${left}) SY(${v}) L SX(${left + width}) SY(${v}) L SX(${left + width}) SY(0) Z" fill="${COLORS[i % COLORS.length]}"/>`;
        })
        .join(''),
    )
    .join('\n');
  const labels = categories.map((c, g) => `<text x="SX(${g})" y="${H - M.bottom + 34}" text-anchor="middle" font-size="11">${esc(c)}</text>`).join('');
  return frame(title, xLabel, yLabel, x, y, bars + labels, series.map((s) => s.name), false);
}
