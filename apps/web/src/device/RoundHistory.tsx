import { formatBytes, formatJoules } from '../shared/format';
import type { RoundRecord } from './state';

/** This device's rounds: the precision it was given and what it sent. */
export function RoundHistory({ history }: { history: RoundRecord[] }) {
  if (history.length === 0) return null;
  return (
    <ol className="history" data-testid="round-history">
      {history.map((r) => (
        <li key={r.round} data-testid="round-record" data-round={r.round} data-bits={r.bits} data-accepted={String(r.accepted)}>
          round {r.round}: {r.bits}-bit
          {r.bytes !== null && (
            <>
              , sent {formatBytes(r.bytes)} (32-bit: {formatBytes(r.fp32Bytes)}), {formatJoules(r.energyJ)} (estimated)
            </>
          )}
          {r.accepted === false && ' — not accepted'}
        </li>
      ))}
    </ol>
  );
}
