// Every wait explained on the dashboard: what the run waits for, the open round against its
// deadline and quorum, how the last round ended, dropped rounds, and in async mode the versions
// per minute and how stale the merged updates were; on a cluster of aggregator nodes, which node
// leads and which answered.
import { useEffect, useState } from 'react';
import type { RunStatus } from '@fedbit/core';

function StalenessHistogram({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  return (
    <div className="staleness" data-testid="staleness">
      {counts.map((n, s) => (
        <div key={s} className="staleness-bar" title={`${n} updates ${s} version${s === 1 ? '' : 's'} behind`}>
          <div style={{ height: `${(n / max) * 100}%` }} />
          <span className="small muted">{s}</span>
        </div>
      ))}
    </div>
  );
}

export function RunState({ status }: { status: RunStatus }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const open = status.currentRound;
  const isAsync = status.mode === 'async';
  return (
    <section className="card run-state" data-testid="run-state">
      {status.wait && (
        <p className="notice" data-testid="run-wait">
          {status.wait.charAt(0).toUpperCase() + status.wait.slice(1)}.
        </p>
      )}
      <div className="row small">
        <span>
          mode <strong data-testid="run-mode">{isAsync ? `async (buffer ${status.config.asyncBuffer}, max staleness ${status.config.maxStaleness})` : 'synchronous rounds'}</strong>
        </span>
        <span>local work <strong>{status.config.localWork === 'budget' ? `time-budgeted, up to ${status.config.localSteps} steps` : `${status.config.localSteps} steps`}</strong></span>
        <span>merge <strong>{status.config.aggregation ?? 'fedavg'}</strong></span>
        {!isAsync && (
          <span>
            deadline <strong>{status.config.deadlineS} s</strong> · quorum <strong>{status.config.quorum}</strong>
          </span>
        )}
        <span>
          norm bound <strong>{status.maxUpdateNormRatio == null ? 'off' : `${status.maxUpdateNormRatio} x model norm`}{status.secureAggregation ? ' (applied on each device, then each value clipped to the grid)' : ''}</strong>
        </span>
        {status.privacy && (
          <span data-testid="privacy">
            differential privacy <strong>ε = {status.privacy.epsilon == null ? '0' : status.privacy.epsilon.toFixed(2)}</strong> at δ = {status.privacy.delta} (noise {status.privacy.noiseMultiplier} x clip {status.privacy.clipNorm}
            {status.privacy.mechanism === 'distributed' ? `, discrete Gaussian added on the devices, planned for ${Math.round((status.privacy.survival ?? 0.7) * 100)}% of each round's devices${status.privacy.rotation === false ? ', no rotation' : ', after a random rotation'}` : ', added on the aggregator'})
          </span>
        )}
        {status.secureAggregation && (
          <span data-testid="secure-aggregation">
            <strong>{status.secureAggregation.note}</strong>
            {status.secureAggregation.lastRound &&
              ` · round ${status.secureAggregation.lastRound.round} ${status.secureAggregation.lastRound.outcome}: ${status.secureAggregation.lastRound.survivors} of ${status.secureAggregation.lastRound.roster} in the sum, ${status.secureAggregation.lastRound.dropped} dropped`}
          </span>
        )}
        {status.cluster && (
          <span data-testid="cluster">
            cluster: leader <strong>{status.cluster.leader ?? 'none right now'}</strong>
            {status.cluster.term !== null && ` (term ${status.cluster.term})`}, answered by node <strong>{status.cluster.node}</strong>
            {status.cluster.nodes.length > 0 && ` · devices ${status.cluster.nodes.map((n) => `${n.node} ${n.devices}`).join(', ')}`}
            {status.cluster.note && <span className="muted"> · {status.cluster.note}</span>}
          </span>
        )}
        <span>
          dropped rounds <strong data-testid="dropped-rounds">{status.droppedRounds ?? 0}</strong>
        </span>
        <span>
          versions per minute <strong data-testid="versions-per-minute">{status.versionsPerMinute == null ? '–' : status.versionsPerMinute.toFixed(1)}</strong>
        </span>
      </div>
      {open && (
        <p className="small" data-testid="open-round">
          round {open.round}: {open.received} of {open.selected} updates in (quorum {open.quorum ?? status.config.quorum}), closes in at most {Math.max(0, Math.round((open.deadlineAt - now) / 1000))} s
        </p>
      )}
      {status.lastRound && (
        <p className={`small ${status.lastRound.outcome === 'dropped' ? 'error' : 'muted'}`} data-testid="last-round">
          {status.lastRound.message}
        </p>
      )}
      {isAsync && (status.stalenessHistogram?.length ?? 0) > 0 && (
        <div>
          <div className="small muted">merged updates by staleness (versions behind)</div>
          <StalenessHistogram counts={status.stalenessHistogram!} />
        </div>
      )}
    </section>
  );
}
