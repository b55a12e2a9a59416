// Tables people read at the end of a simulation, and the JSON a script reads.
import type { SimulationResult } from './simulate';

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function simulationJson(result: SimulationResult) {
  const s = result.summaries;
  const sum = (pick: (x: (typeof s)[number]) => number) => s.reduce((a, x) => a + pick(x), 0);
  const last = [...s].reverse().find((x) => x.fidMnist !== undefined);
  return {
    rounds: s.length,
    devices: result.profiles.length,
    params: result.paramCount,
    energyJ: sum((x) => x.energyJ),
    computeJ: sum((x) => x.computeJ),
    transmitJ: sum((x) => x.transmitJ),
    receiveJ: sum((x) => x.receiveJ ?? 0),
    uplinkBytes: sum((x) => x.uplinkBytes),
    uplinkBytesFp32: sum((x) => x.uplinkBytesFp32),
    downlinkBytes: sum((x) => x.downlinkBytes),
    fid: last?.fidMnist ?? null,
    diversity: last?.classEntropyBits ?? null,
    finalLoss: s.at(-1)?.loss ?? null,
    /** Differential privacy spent by the run at its delta (the last round's), or null without privacy. */
    epsilon: s.at(-1)?.epsilon ?? null,
    wallS: result.wallS,
    runDir: result.runDir,
  };
}

export function formatSimulationSummary(result: SimulationResult): string {
  const rows = result.summaries.map((x) => [
    x.round,
    `${x.accepted}/${x.participants}`,
    Object.values(x.bits).join(' '),
    x.loss?.toFixed(4) ?? '-',
    x.computeJ.toFixed(3),
    x.transmitJ.toFixed(3),
    formatBytes(x.uplinkBytes),
    formatBytes(x.downlinkBytes),
    x.fidMnist?.toFixed(2) ?? '',
    x.wallS.toFixed(1),
  ]);
  const j = simulationJson(result);
  return [
    table(['round', 'updates', 'bits', 'loss', 'compute J*', 'transmit J*', 'up', 'down', 'FID-MNIST', 'wall s'], rows),
    '',
    `rounds ${j.rounds}, devices ${j.devices}, modelled energy ${j.energyJ.toFixed(3)} J (computation ${j.computeJ.toFixed(3)} J, sending ${j.transmitJ.toFixed(3)} J, receiving the model ${j.receiveJ.toFixed(3)} J)`,
    `bytes up ${formatBytes(j.uplinkBytes)} (full precision would be ${formatBytes(j.uplinkBytesFp32)}), down ${formatBytes(j.downlinkBytes)}`,
    `FID-MNIST ${j.fid?.toFixed(2) ?? 'n/a'} (a Frechet distance in a small MNIST classifier's features, not the Inception FID), class entropy ${j.diversity?.toFixed(3) ?? 'n/a'} bits`,
    ...(j.epsilon !== null ? [`differential privacy: epsilon ${j.epsilon.toPrecision(3)} at the run's delta after ${j.rounds} rounds`] : []),
    `wall time ${j.wallS.toFixed(1)} s${j.runDir ? `, run directory ${j.runDir}` : ''}`,
    '* modelled joules (packages/core/src/energy), not measured',
  ].join('\n');
}
