import { useState } from 'react';
import { api } from './api';

type Action = 'start' | 'pause' | 'stop';

/** Start, pause, stop. Stop ends the run for good, so it asks first. */
export function Controls({ token, phase, onDone }: { token: string; phase: string | undefined; onDone: () => void }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: Action) => {
    if (action === 'stop' && !confirm('Stop the run? It cannot be restarted.')) return;
    setBusy(action);
    setError(null);
    try {
      await api.control(token, action);
      onDone();
    } catch (e) {
      setError(`${action} failed: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };
  const over = phase === 'done' || phase === 'stopped';
  return (
    <div className="controls">
      <button type="button" className="primary" data-testid="control-start" disabled={busy !== null || over || phase === 'training'} onClick={() => void act('start')}>
        Start
      </button>
      <button type="button" data-testid="control-pause" disabled={busy !== null || over || phase === 'paused'} onClick={() => void act('pause')}>
        Pause
      </button>
      <button type="button" data-testid="control-stop" disabled={busy !== null || over} onClick={() => void act('stop')}>
        Stop
      </button>
      {error && <span className="error small">{error}</span>}
    </div>
  );
}
