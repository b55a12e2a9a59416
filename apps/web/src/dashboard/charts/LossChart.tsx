import { Line } from 'react-chartjs-2';
import type { RoundSummary } from '../api';
import { ChartCard } from './ChartCard';
import { COLORS, baseOptions } from './register';

export function LossChart({ rounds }: { rounds: RoundSummary[] }) {
  const data = {
    labels: rounds.map((r) => r.round),
    datasets: [{ label: 'mean training loss of accepted updates', data: rounds.map((r) => r.loss), borderColor: COLORS.blue, backgroundColor: COLORS.blue, spanGaps: true }],
  };
  return (
    <ChartCard title="Loss per round" testId="chart-loss" empty={rounds.length === 0 ? 'after the first round' : null}>
      <Line data={data} options={baseOptions<'line'>('loss', { fromZero: false })} />
    </ChartCard>
  );
}
