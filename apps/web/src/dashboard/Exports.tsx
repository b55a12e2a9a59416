/** The run's metrics and the global model, for a notebook or a paper. */
export function Exports({ run }: { run: string | undefined }) {
  const prefix = run ?? 'fedbit';
  return (
    <div className="card exports">
      <h2>Export</h2>
      <a data-testid="export-csv" href="/api/rounds?format=csv" download={`${prefix}-rounds.csv`}>
        Metrics (CSV)
      </a>
      <a data-testid="export-json" href="/api/rounds" download={`${prefix}-rounds.json`}>
        Metrics (JSON)
      </a>
      <a data-testid="export-model" href="/api/model/model.json" download="model.json">
        Global model: model.json
      </a>
      <a data-testid="export-weights" href="/api/model/weights.bin" download="weights.bin">
        weights.bin
      </a>
      <p className="small muted">Energy figures are modelled joules from the energy model, not measurements.</p>
    </div>
  );
}
