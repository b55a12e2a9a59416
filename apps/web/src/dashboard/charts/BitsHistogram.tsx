import { Bar } from 'react-chartjs-2';
import type { RoundSummary } from '../api';
import { ChartCard } from './ChartCard';
import { COLORS, baseOptions } from './register';

const LEVELS = [1, 2, 4, 8, 16, 32];

/** How often each precision was assigned, over every device in every round. */
export function bitsHistogram(rounds: RoundSummary[]): number[] {
  const counts = new Map<number, number>(LEVELS.map((b) => [b, 0]));
  for (const round of rounds) for (const device of round.devices) counts.set(device.bits, (counts.get(device.bits) ?? 0) + 1);
  return LEVELS.map((b) => counts.get(b) ?? 0);
}

export function BitsHistogram({ rounds }: { rounds: RoundSummary[] }) {
  const data = {
    labels: LEVELS.map((b) => `${b}-bit`),
    datasets: [{ label: 'assignments (device × round)', data: bitsHistogram(rounds), backgroundColor: COLORS.purple }],
  };
  return (
    <ChartCard title="Assigned precision" testId="chart-bits" empty={rounds.length === 0 ? 'after the first round' : null}>
      <Bar data={data} options={baseOptions<'bar'>('assignments', { xTitle: 'precision' })} />
    </ChartCard>
  );
}
