// Settings the admin API may change between rounds (PATCH /api/config).
import { useEffect, useState, type FormEvent } from 'react';
import { api, type PolicySpec, type RunStatus } from './api';

const POLICIES: Array<{ value: string; label: string; spec: PolicySpec }> = [
  { value: 'on-demand', label: 'On-demand (energy under an error bound)', spec: { kind: 'on-demand' } },
  { value: 'fixed-32', label: 'Fixed 32-bit (FedAvg)', spec: { kind: 'fixed', bits: 32 } },
  { value: 'fixed-16', label: 'Fixed 16-bit', spec: { kind: 'fixed', bits: 16 } },
  { value: 'fixed-8', label: 'Fixed 8-bit', spec: { kind: 'fixed', bits: 8 } },
  { value: 'fixed-4', label: 'Fixed 4-bit', spec: { kind: 'fixed', bits: 4 } },
  { value: 'adaquantfl', label: 'AdaQuantFL', spec: { kind: 'adaquantfl' } },
  { value: 'dadaquant', label: 'DAdaQuant', spec: { kind: 'dadaquant' } },
];

function policyValue(policy: unknown): string {
  const p = policy as { kind?: string; bits?: number } | null;
  if (!p?.kind) return 'on-demand';
  return p.kind === 'fixed' ? `fixed-${p.bits ?? 32}` : p.kind;
}

interface Draft {
  rounds: number;
  devicesPerRound: number;
  localSteps: number;
  policy: string;
}

function draftOf(status: RunStatus): Draft {
  return { rounds: status.rounds, devicesPerRound: status.config.devicesPerRound, localSteps: status.config.localSteps, policy: policyValue(status.policy) };
}

export function ConfigForm({ token, status, onDone }: { token: string; status: RunStatus; onDone: () => void }) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(status));
  const [dirty, setDirty] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  // Follow the server until the operator starts editing.
  useEffect(() => {
    if (!dirty) setDraft(draftOf(status));
  }, [status, dirty]);

  const edit = (patch: Partial<Draft>) => {
    setDirty(true);
    setDraft((d) => ({ ...d, ...patch }));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const spec = POLICIES.find((p) => p.value === draft.policy)?.spec;
    try {
      await api.patchConfig(token, { rounds: draft.rounds, devicesPerRound: draft.devicesPerRound, localSteps: draft.localSteps, policy: spec });
      setMessage({ ok: true, text: 'saved; applies from the next round' });
      setDirty(false);
      onDone();
    } catch (error) {
      setMessage({ ok: false, text: (error as Error).message });
    }
  };
  const number = (key: 'rounds' | 'devicesPerRound' | 'localSteps', label: string) => (
    <label>
      {label}
      <input type="number" min={1} step={1} data-testid={`config-${key}`} value={draft[key]} onChange={(e) => edit({ [key]: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} />
    </label>
  );
  return (
    <form className="card config" onSubmit={(e) => void submit(e)}>
      <h2>Run settings</h2>
      {number('rounds', 'Rounds')}
      {number('devicesPerRound', 'Devices per round')}
      {number('localSteps', 'Local steps')}
      <label>
        Precision policy
        <select data-testid="config-policy" value={draft.policy} onChange={(e) => edit({ policy: e.target.value })}>
          {POLICIES.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      <div className="row">
        <button type="submit" className="primary" data-testid="config-save" disabled={!dirty}>
          Apply
        </button>
        {message && <span className={message.ok ? 'small muted' : 'small error'}>{message.text}</span>}
      </div>
    </form>
  );
}
