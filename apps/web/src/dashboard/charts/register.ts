// chart.js is tree-shaken: register only what the dashboard's charts draw.
import { BarElement, CategoryScale, Chart, Legend, LinearScale, LineElement, PointElement, Tooltip, type ChartOptions } from 'chart.js';

Chart.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);

export const COLORS = { blue: '#1d4ed8', orange: '#ea580c', green: '#15803d', grey: '#94a3b8', purple: '#7c3aed' };

/** Shared options: no animation (the data changes every round), a titled y axis. */
export function baseOptions<T extends 'line' | 'bar'>(yTitle: string, extra: { stacked?: boolean; xTitle?: string; fromZero?: boolean } = {}): ChartOptions<T> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: 'bottom' } },
    scales: {
      x: { stacked: extra.stacked, title: { display: true, text: extra.xTitle ?? 'round' } },
      y: { stacked: extra.stacked, beginAtZero: extra.fromZero ?? true, title: { display: true, text: yTitle } },
    },
  } satisfies ChartOptions<'bar'> as unknown as ChartOptions<T>; // the same options suit both chart types
}
