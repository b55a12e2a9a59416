import { useState, type FormEvent } from 'react';
import type { Preference } from '@fedbit/core/vocabulary';
import { PreferenceSelect } from './PreferenceSelect';

interface Props {
  initialCode: string | null;
  initialName: string;
  preference: Preference;
  onPreference: (value: Preference) => void;
  onJoin: (code: string, name: string) => void;
  busy: boolean;
  /** What happens to this device's images, true to the data source chosen. */
  dataNote: string;
  /** Why joining must wait (e.g. draw mode with no drawing yet); null when it need not. */
  notReady: string | null;
}

/** One tap to join: the code comes from the link; only without one does the person type it. */
export function JoinCard({ initialCode, initialName, preference, onPreference, onJoin, busy, dataNote, notReady }: Props) {
  const [code, setCode] = useState(initialCode ?? '');
  const [name, setName] = useState(initialName);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim() && name.trim() && !notReady) onJoin(code.trim(), name.trim());
  };
  return (
    <form className="card" onSubmit={submit} style={{ display: 'grid', gap: '0.7rem' }}>
      {initialCode === null && (
        <label>
          Join code (from the QR code or the organiser)
          <input data-testid="join-code" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" autoCapitalize="off" spellCheck={false} required />
        </label>
      )}
      <label>
        This device's name (others see it on the dashboard)
        <input data-testid="device-name" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} required />
      </label>
      <PreferenceSelect value={preference} onChange={onPreference} />
      <button type="submit" className="primary big" data-testid="join" disabled={busy || !code.trim() || !name.trim() || notReady !== null}>
        {busy ? 'Joining…' : 'Join training'}
      </button>
      {notReady && <p className="small notice" style={{ margin: 0 }}>{notReady}</p>}
      <p className="small muted" data-testid="data-note" style={{ margin: 0 }}>
        {dataNote}
      </p>
    </form>
  );
}
