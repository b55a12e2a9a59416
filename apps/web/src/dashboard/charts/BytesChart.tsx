import { Bar } from 'react-chartjs-2';
import type { RoundSummary } from '../api';
import { ChartCard } from './ChartCard';
import { COLORS, baseOptions } from './register';

/** What the devices sent, beside what the same updates would have cost at 32 bits. */
export function BytesChart({ rounds }: { rounds: RoundSummary[] }) {
  const data = {
    labels: rounds.map((r) => r.round),
    datasets: [
      { label: 'uplink bytes sent', data: rounds.map((r) => r.uplinkBytes), backgroundColor: COLORS.green },
      { label: 'at full precision (32-bit)', data: rounds.map((r) => r.uplinkBytesFp32), backgroundColor: COLORS.grey },
    ],
  };
  return (
    <ChartCard title="Bytes per round vs. full precision" testId="chart-bytes" empty={rounds.length === 0 ? 'after the first round' : null}>
      <Bar data={data} options={baseOptions<'bar'>('bytes')} />
    </ChartCard>
  );
}
