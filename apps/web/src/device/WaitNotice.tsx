// Every wait explained on the device page: what the run waits for, how the last round ended, when
// this device's next task may start, and which model version it trains from.
import { useEffect, useState } from 'react';
import type { DeviceState } from './state';

export function waitText(state: DeviceState, now: number): string[] {
  const { brief } = state;
  if (!brief) return [];
  const lines: string[] = [];
  const busy = state.phase === 'training' || state.phase === 'uploading';
  if (brief.wait) lines.push(brief.wait.charAt(0).toUpperCase() + brief.wait.slice(1) + '.');
  if (!busy && brief.mode === 'sync' && brief.round && brief.phase === 'training') {
    const inS = Math.max(0, Math.round((brief.round.deadlineAt - now) / 1000));
    const mine = state.round === brief.round.round && state.phase === 'waiting-for-others';
    lines.push(
      mine
        ? `Round ${brief.round.round}: ${brief.round.received} of ${brief.round.selected} updates in (quorum ${brief.round.quorum}); it closes in at most ${inS} s.`
        : `Round ${brief.round.round} is training on ${brief.round.selected} other device${brief.round.selected === 1 ? '' : 's'}; your next task starts in about ${inS} s at the latest.`,
    );
  }
  if (!busy && brief.mode === 'async' && brief.phase === 'training' && !brief.wait) lines.push('Asynchronous training: your next task starts as soon as the aggregator hands it out.');
  if (brief.lastRound) lines.push(brief.lastRound.message.charAt(0).toUpperCase() + brief.lastRound.message.slice(1) + '.');
  if (state.mode === 'async' && state.version !== null) lines.push(`Your task trains from model version ${state.version}; the run is at version ${brief.version}.`);
  return lines;
}

export function WaitNotice({ state }: { state: DeviceState }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const lines = waitText(state, now);
  if (lines.length === 0) return null;
  return (
    <div className="card" data-testid="wait">
      {lines.map((line, i) => (
        <p key={i} className={i === 0 ? '' : 'small muted'} data-testid={i === 0 ? 'wait-first' : undefined}>
          {line}
        </p>
      ))}
    </div>
  );
}
