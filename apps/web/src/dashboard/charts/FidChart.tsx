import { Line } from 'react-chartjs-2';
import type { RoundSummary } from '../api';
import { ChartCard } from './ChartCard';
import { COLORS, baseOptions } from './register';

/** FID against MNIST (lower is better), on rounds where the aggregator evaluated it. */
export function FidChart({ rounds }: { rounds: RoundSummary[] }) {
  const evaluated = rounds.filter((r) => r.fidMnist !== undefined && r.fidMnist !== null);
  const data = {
    labels: evaluated.map((r) => r.round),
    datasets: [{ label: 'FID-MNIST', data: evaluated.map((r) => r.fidMnist ?? null), borderColor: COLORS.purple, backgroundColor: COLORS.purple }],
  };
  return (
    <ChartCard title="FID-MNIST per round (lower is better)" testId="chart-fid" empty={evaluated.length === 0 ? 'not evaluated yet (see eval.every in the run config)' : null}>
      <Line data={data} options={baseOptions<'line'>('FID', { fromZero: false })} />
    </ChartCard>
  );
}
