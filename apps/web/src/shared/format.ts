// Number formatting shared by the device page and the dashboard. Energy is modelled, never
// measured, and every label says so.
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatBps(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '–';
  if (bps < 1e3) return `${Math.round(bps)} bit/s`;
  if (bps < 1e6) return `${(bps / 1e3).toFixed(1)} kbit/s`;
  if (bps < 1e9) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e9).toFixed(2)} Gbit/s`;
}

/** Modelled joules with a unit that keeps 3 significant digits readable (mJ, µJ for tiny models). */
export function formatJoules(joules: number | null | undefined): string {
  if (joules === null || joules === undefined || !Number.isFinite(joules)) return '–';
  const abs = Math.abs(joules);
  if (abs === 0) return '0 J';
  if (abs >= 1) return `${joules.toPrecision(3)} J`;
  if (abs >= 1e-3) return `${(joules * 1e3).toPrecision(3)} mJ`;
  if (abs >= 1e-6) return `${(joules * 1e6).toPrecision(3)} µJ`;
  return `${(joules * 1e9).toPrecision(3)} nJ`;
}

export function formatBattery(battery: number | null | undefined, charging: boolean | null | undefined): string {
  if (battery === null || battery === undefined) return 'not reported';
  return `${Math.round(battery * 100)}%${charging ? ' ⚡' : ''}`;
}

export function formatLoss(loss: number | null | undefined): string {
  return loss === null || loss === undefined || !Number.isFinite(loss) ? '–' : loss.toFixed(4);
}
