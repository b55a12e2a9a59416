// The page a person sees after scanning the code: join with one tap, then watch this device train.
import { useMemo, useState } from 'react';
import { BACKENDS, type Backend, type Preference } from '@fedbit/core/vocabulary';
import { formatBattery, formatBps, formatBytes, formatJoules, formatLoss } from '../shared/format';
import { BackendCard } from './BackendCard';
import { DataCard, dataNote, useDataChoice } from './DataCard';
import { claimDevice, defaultName, rememberName } from './identity';
import { JoinCard } from './JoinCard';
import { PreferenceSelect } from './PreferenceSelect';
import { RoundHistory } from './RoundHistory';
import { SamplesCard } from './SamplesCard';
import { Sparkline } from './Sparkline';
import { Stat } from './Stat';
import { StepProgress } from './StepProgress';
import { useBattery } from './useBattery';
import { useTrainingWorker } from './useTrainingWorker';
import { WaitNotice } from './WaitNotice';

/** What the two precisions mean, in words: the aggregator sets both, and they do not contradict. */
function precisionNote(bits: number | null, trainBits: number | null): string {
  if (bits === null) return 'set by the aggregator for each round';
  if (trainBits !== null && trainBits < 32 && trainBits !== bits) return `set by the aggregator: trains with ${trainBits}-bit weights, then sends its changes at ${bits} bits`;
  return `set by the aggregator: sends its changes at ${bits} bits`;
}

export function DevicePage() {
  const code = useMemo(() => new URLSearchParams(location.search).get('code'), []);
  // ?backend=webgpu|webgl|wasm|cpu fixes the backend (a person who knows better, or a test); unknown values are ignored.
  const backend = useMemo(() => {
    const asked = new URLSearchParams(location.search).get('backend');
    return (BACKENDS as readonly string[]).includes(asked ?? '') ? (asked as Backend) : undefined;
  }, []);
  const name = useMemo(defaultName, []);
  const [preference, setPreference] = useState<Preference>('balanced');
  const battery = useBattery();
  const { state, join, leave } = useTrainingWorker(preference, battery);
  const joined = state.phase !== 'not-joined' && state.phase !== 'starting' && state.phase !== 'left';
  const data = useDataChoice();
  const ownDrawings = data.mode === 'drawn';
  const ownPhotos = data.mode === 'photos';

  const onJoin = async (joinCode: string, deviceName: string) => {
    rememberName(deviceName);
    const drawings = ownDrawings ? data.drawings.map(({ label, pixels }) => ({ label, pixels })) : undefined;
    const photos = ownPhotos ? data.photos.map(({ pixels }) => ({ pixels })) : undefined;
    join({ url: location.origin, joinCode, name: deviceName, ...(await claimDevice()), userAgent: navigator.userAgent, backend, drawings, photos });
  };

  const sent = state.totals.uplinkBytes;
  const fp32 = state.totals.uplinkBytesFp32;
  return (
    <main className="device">
      <header>
        <h1>fedbit</h1>
        <div className="muted small">This tab helps train a small image-generating model, together with everyone else in the room.</div>
      </header>

      {state.error && (
        <p className="notice error" role="alert" data-testid="error">
          {state.error}
        </p>
      )}

      {state.phase === 'not-joined' || state.phase === 'starting' || state.phase === 'left' ? (
        <JoinCard
          initialCode={code}
          initialName={name}
          preference={preference}
          onPreference={setPreference}
          onJoin={(c, n) => void onJoin(c, n)}
          busy={state.phase === 'starting'}
          dataNote={dataNote(data.mode, data.ownCount)}
          notReady={
            ownDrawings && data.drawings.length === 0
              ? 'Draw and save at least one digit below, or choose the organiser’s digits.'
              : ownPhotos && data.photos.length === 0
                ? 'Choose at least one photo below, or choose the organiser’s digits.'
                : null
          }
        />
      ) : (
        <div className="card row">
          <PreferenceSelect value={preference} onChange={setPreference} />
          <button type="button" data-testid="leave" onClick={leave} disabled={!joined} style={{ flex: '0 0 auto', alignSelf: 'end' }}>
            Leave
          </button>
        </div>
      )}

      <DataCard choice={data} locked={state.phase !== 'not-joined' && state.phase !== 'left'} />

      <StepProgress phase={state.phase} round={state.round} step={state.step} steps={state.steps} message={state.message} />
      {joined && <WaitNotice state={state} />}
      <BackendCard backend={state.backend} adapter={state.adapter} reason={state.backendReason} stepMs={state.stepMs} />
      {state.lora && (
        <div className="card" data-testid="lora" data-method={state.lora.method}>
          <h2>Fine-tuning adapters of {state.lora.base}</h2>
          <p className="small muted">
            The base came down once ({(state.lora.baseBytes / 1024).toFixed(0)} KiB, 16 bits) and stays frozen on this device; only {state.lora.adapterParams.toLocaleString('en')} adapter parameters train and go up ({state.lora.method}, rank {state.lora.rank}).
          </p>
        </div>
      )}

      <section className="stats">
        <Stat label="Battery" testId="battery" value={battery === null ? '…' : battery.battery === null ? 'not reported by this browser' : formatBattery(battery.battery, battery.charging)} sub={battery?.charging ? 'charging' : battery?.charging === false ? 'on battery' : undefined} />
        <Stat label="Measured uplink" testId="bandwidth" value={formatBps(state.uplinkBps)} sub="from this device's own uploads" />
        <Stat label="Upload precision" testId="bits" value={state.bits === null ? '–' : `${state.bits}-bit`} sub={precisionNote(state.bits, state.trainBits)} />
        <Stat label="Energy (estimated)" testId="energy" value={formatJoules(state.totals.energyJ)} sub={`computed from a model, not measured: computing ${formatJoules(state.totals.computeJ)}, sending ${formatJoules(state.totals.transmitJ)}, receiving the model ${formatJoules(state.totals.receiveJ)}`} />
        <Stat label="Bytes sent" testId="bytes" value={formatBytes(sent)} sub={fp32 > 0 ? `32-bit would be ${formatBytes(fp32)} (${Math.round((sent / fp32) * 100)}%)` : 'none yet'} />
        <Stat label="Shared model: rounds" testId="run-round" value={state.runRound} sub={`its error on the last round ${formatLoss(state.lastGlobalLoss)} (lower is better)`} />
      </section>

      <div className="card">
        <h2>This device's training error (lower is better) {state.losses.length > 0 && <span className="muted">· {formatLoss(state.losses[state.losses.length - 1])}</span>}</h2>
        <Sparkline values={state.losses} label="Local training loss" />
        <RoundHistory history={state.history} />
      </div>

      {(joined || state.committed > 0) && <SamplesCard round={state.committed} />}
      {state.deviceId && <div className="small muted" data-testid="device-id" data-device-id={state.deviceId}>device id {state.deviceId}</div>}
    </main>
  );
}
