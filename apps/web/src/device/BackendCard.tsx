import { backendLabel, fallbackMessage, gpuSupport } from './capabilities';

export function BackendCard({ backend, adapter, reason, stepMs }: { backend: string | null; adapter: { vendor: string; architecture: string; description?: string } | null; reason?: string | null; stepMs?: number | null }) {
  const support = gpuSupport();
  const fallback = backend ? fallbackMessage(backend, support) : null;
  const adapterText = adapter ? [adapter.vendor, adapter.architecture].filter(Boolean).join(' · ') || adapter.description || 'unnamed adapter' : null;
  return (
    <div className="card">
      <h2>Compute</h2>
      <div className="row">
        <strong data-testid="backend" data-backend={backend ?? ''}>
          {backend ? backendLabel(backend) : support.available ? 'WebGPU (not started yet)' : 'not started yet'}
        </strong>
        {adapterText && (
          <span className="muted small" data-testid="adapter">
            {adapterText}
          </span>
        )}
      </div>
      {stepMs != null && (
        <div className="small muted" data-testid="step-ms" data-ms={stepMs.toFixed(1)}>
          {stepMs < 1000 ? `${stepMs.toFixed(0)} ms` : `${(stepMs / 1000).toFixed(1)} s`} per training step
        </div>
      )}
      {reason && (
        <p className="small muted" data-testid="backend-reason">
          Chosen by measurement: {reason}.
        </p>
      )}
      {fallback && !reason && <p className="notice" data-testid="backend-notice">{fallback}</p>}
      {!backend && !support.available && <p className="notice">{support.reason}; training will fall back to WebGL, WASM or CPU.</p>}
    </div>
  );
}
