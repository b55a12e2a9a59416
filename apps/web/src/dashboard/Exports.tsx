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
        Global model for TensorFlow.js: model.json
      </a>
      <a data-testid="export-weights" href="/api/model/group1-shard1of1.bin" download="group1-shard1of1.bin">
        group1-shard1of1.bin
      </a>
      <a data-testid="export-safetensors" href="/api/model/model.safetensors" download="model.safetensors">
        For PyTorch: model.safetensors
      </a>
      <p className="small muted">
        Keep model.json and group1-shard1of1.bin in one folder and load it with <code>tf.loadGraphModel</code>; the
        PyTorch module and a sampler are in the repository's <code>python/</code> folder (docs/EXPORT.md).
      </p>
      <p className="small muted">Energy figures are modelled joules from the energy model, not measurements.</p>
    </div>
  );
}
