// Every wait explained: what the run is waiting for right now, in words a teacher or a student can
// act on. Null while it trains.
import type { RunConfig } from '../config';
import type { RunState } from './run-state';

/** Eligible devices the run needs before it trains: the quorum (async: one), and minDevices before the first commit. */
export function devicesNeeded(config: RunConfig, completed: number): number {
  return Math.max(config.mode === 'async' ? 1 : config.quorum, completed === 0 ? config.minDevices : 1);
}

export function waitReason(config: RunConfig, run: RunState, eligible: number, connected: number, busy: boolean): string | null {
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  switch (run.phase) {
    case 'done':
      return `the run is finished: ${plural(run.completed, config.mode === 'async' ? 'model version' : 'round')} trained`;
    case 'stopped':
      return 'the run was stopped by the operator';
    case 'paused':
      return busy ? 'paused by the operator: the tasks under way finish, no new one starts' : 'paused by the operator: press Start on the dashboard to go on';
  }
  const needed = devicesNeeded(config, run.completed);
  if (eligible < needed) {
    const why = config.mode === 'async' ? '' : config.quorum >= config.minDevices || run.completed > 0 ? ` (quorum ${config.quorum})` : ` (the run starts with ${config.minDevices})`;
    const low = connected - eligible;
    const lowNote = low > 0 ? `; ${plural(low, 'device')} with a low battery ${low === 1 ? 'is' : 'are'} left out` : '';
    return `waiting for ${plural(needed - eligible, 'more device')}${why}${lowNote}`;
  }
  if (run.phase === 'waiting') return config.autoStart ? null : 'waiting for the operator to press Start on the dashboard';
  return null;
}
