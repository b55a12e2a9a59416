// A hand-drawn loss curve: an SVG polyline, so the device page needs no chart library.
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const width = 300;
  const height = 64;
  if (values.length < 2) {
    return (
      <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: no steps yet`}>
        <text x={width / 2} y={height / 2} textAnchor="middle" dominantBaseline="middle" fontSize="12" fill="#94a3b8">
          the loss appears after two local steps
        </text>
      </svg>
    );
  }
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * (width - 4) + 2).toFixed(1)},${(height - 4 - ((v - min) / span) * (height - 8)).toFixed(1)}`);
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${label}: ${values.length} steps, latest ${values[values.length - 1].toFixed(4)}`}>
      <polyline points={points.join(' ')} fill="none" stroke="#1d4ed8" strokeWidth="2" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}
