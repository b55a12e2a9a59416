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
}

/** One tap to join: the code comes from the link; only without one does the person type it. */
export function JoinCard({ initialCode, initialName, preference, onPreference, onJoin, busy }: Props) {
  const [code, setCode] = useState(initialCode ?? '');
  const [name, setName] = useState(initialName);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim() && name.trim()) onJoin(code.trim(), name.trim());
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
      <button type="submit" className="primary big" data-testid="join" disabled={busy || !code.trim() || !name.trim()}>
        {busy ? 'Joining…' : 'Join training'}
      </button>
      <p className="small muted" style={{ margin: 0 }}>
        Your images never leave this device: it trains on its own share of the data and sends only a compressed model update.
      </p>
    </form>
  );
}
