// The operator's view at /dashboard: the join QR, controls and settings, the devices, the charts
// and the images of the global model. Loaded lazily; the device page never downloads it.
import { useCallback, useEffect, useState } from 'react';
import { formatBytes, formatJoules } from '../shared/format';
import { ApiError, api } from './api';
import { BitsHistogram } from './charts/BitsHistogram';
import { BytesChart } from './charts/BytesChart';
import { EnergyChart } from './charts/EnergyChart';
import { FidChart } from './charts/FidChart';
import { LossChart } from './charts/LossChart';
import { ConfigForm } from './ConfigForm';
import { Controls } from './Controls';
import { DeviceTable } from './DeviceTable';
import { Exports } from './Exports';
import { JoinQr } from './JoinQr';
import { LoraCard } from './LoraCard';
import { RunState } from './RunState';
import { SampleGrid } from './SampleGrid';
import { TokenGate } from './TokenGate';
import { initialToken, saveToken } from './token';
import { useLiveRun } from './useLiveRun';
import './dashboard.css';

export default function Dashboard() {
  const [token, setToken] = useState<string | null>(initialToken);
  const [joinUrl, setJoinUrl] = useState<string | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);
  const { status, rounds, live, error, refresh } = useLiveRun();

  // The token is checked by asking for the join link, which needs it.
  useEffect(() => {
    if (!token) return;
    let cancelled = false;
    api
      .join(token)
      .then((r) => {
        if (cancelled) return;
        saveToken(token);
        setJoinUrl(r.joinUrl);
        setTokenError(null);
      })
      .catch((e: Error) => {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 401) {
          saveToken(null);
          setToken(null);
          setTokenError('That token was not accepted.');
        } else setTokenError(`Cannot reach the aggregator: ${e.message}`);
      });
    return () => {
      cancelled = true;
    };
  }, [token]);

  const signOut = useCallback(() => {
    saveToken(null);
    setToken(null);
    setJoinUrl(null);
  }, []);

  if (!token) return <TokenGate onToken={setToken} error={tokenError} />;

  const completed = status?.round ?? 0;
  return (
    <main className="dashboard">
      <header className="dash-header">
        <div>
          <h1>fedbit dashboard</h1>
          <div className="muted small">
            {status ? (
              <>
                run {status.run} · <strong data-testid="run-phase">{status.phase}</strong> · round <strong data-testid="run-round">{completed}</strong> of {status.rounds}
                {status.currentRound && ` · round ${status.currentRound.round}: ${status.currentRound.received}/${status.currentRound.selected} updates in`}
              </>
            ) : (
              'connecting…'
            )}
            {' · '}
            <span className={live ? 'live' : 'polling'}>{live ? 'live' : 'polling every 2 s'}</span>
          </div>
        </div>
        <Controls token={token} phase={status?.phase} onDone={refresh} />
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      {(error || tokenError) && <p className="notice error">{error ?? tokenError}</p>}

      {status && (
        <section className="totals">
          <span>
            energy <strong>{formatJoules(status.totals.energyJ)}</strong> modelled (compute {formatJoules(status.totals.computeJ)}, sending {formatJoules(status.totals.transmitJ)}, receiving {formatJoules(status.totals.receiveJ)})
          </span>
          <span>
            uplink <strong>{formatBytes(status.totals.uplinkBytes)}</strong>, downlink {formatBytes(status.totals.downlinkBytes)}
          </span>
        </section>
      )}

      {status && <RunState status={status} />}
      {status?.lora && <LoraCard lora={status.lora} totals={status.totals} />}

      <div className="dash-grid">
        {joinUrl ? <JoinQr joinUrl={joinUrl} /> : <div className="card">Reading the join link…</div>}
        <div className="stack">
          {status && <ConfigForm token={token} status={status} onDone={refresh} />}
          <Exports run={status?.run} />
        </div>
        <SampleGrid round={completed} emaDecay={status?.config.emaDecay} classNames={status?.config.classNames} />
      </div>

      <DeviceTable status={status} token={token} />

      <div className="charts">
        <LossChart rounds={rounds} />
        <FidChart rounds={rounds} />
        <EnergyChart rounds={rounds} />
        <BytesChart rounds={rounds} />
        <BitsHistogram rounds={rounds} />
      </div>
    </main>
  );
}
