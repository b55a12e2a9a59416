// The run's metrics as CSV: one row per round (the dashboard's export and GET /api/rounds?format=csv).
import type { RoundSummary } from '@fedbit/core';

const COLUMNS = [
  'round', 'policy', 'startedAt', 'wallS', 'participants', 'accepted', 'loss', 'computeJ', 'transmitJ',
  'receiveJ', 'energyJ', 'uplinkBytes', 'uplinkBytesFp32', 'downlinkBytes', 'fidMnist', 'classEntropyBits',
] as const;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function roundsCsv(summaries: readonly RoundSummary[]): string {
  const rows = summaries.map((s) => [...COLUMNS.map((c) => cell(s[c])), cell(Object.values(s.bits).join(' '))].join(','));
  return [[...COLUMNS, 'bits'].join(','), ...rows].join('\n') + '\n';
}
