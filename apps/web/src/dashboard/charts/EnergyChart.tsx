import { Bar } from 'react-chartjs-2';
import type { RoundSummary } from '../api';
import { ChartCard } from './ChartCard';
import { COLORS, baseOptions } from './register';

export function EnergyChart({ rounds }: { rounds: RoundSummary[] }) {
  const data = {
    labels: rounds.map((r) => r.round),
    datasets: [
      { label: 'computation (modelled J)', data: rounds.map((r) => r.computeJ), backgroundColor: COLORS.blue },
      { label: 'sending updates (modelled J)', data: rounds.map((r) => r.transmitJ), backgroundColor: COLORS.orange },
      { label: 'receiving the model (modelled J)', data: rounds.map((r) => r.receiveJ ?? 0), backgroundColor: COLORS.grey },
    ],
  };
  return (
    <ChartCard title="Energy per round (modelled)" testId="chart-energy" empty={rounds.length === 0 ? 'after the first round' : null}>
      <Bar data={data} options={baseOptions<'bar'>('modelled joules', { stacked: true })} />
    </ChartCard>
  );
}
