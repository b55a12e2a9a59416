import type { Phase } from './state';

const PHASE_LABELS: Record<Phase, string> = {
  'not-joined': 'Not joined',
  starting: 'Starting the training engine…',
  connecting: 'Connecting to the aggregator…',
  waiting: 'Waiting for the next round',
  training: 'Training on this device',
  uploading: 'Uploading the update',
  'waiting-for-others': 'Update sent; waiting for the other devices',
  disconnected: 'Disconnected; reconnecting…',
  left: 'Left the training',
};

export function StepProgress({ phase, round, step, steps, message }: { phase: Phase; round: number | null; step: number; steps: number; message: string | null }) {
  const fraction = steps > 0 ? Math.min(1, step / steps) : 0;
  return (
    <div className="card">
      <h2>
        <span data-testid="phase" data-phase={phase}>
          {PHASE_LABELS[phase]}
        </span>
        {round !== null && phase !== 'not-joined' && <span className="muted"> · round {round}</span>}
      </h2>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={steps} aria-valuenow={step}>
        <div style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      <div className="small muted" data-testid="step-progress" data-step={step} data-steps={steps}>
        local step {step} of {steps || '–'}
      </div>
      {message && <div className="small muted">{message}</div>}
    </div>
  );
}
