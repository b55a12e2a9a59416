// A LoRA fine-tuning run at a glance (docs/LORA.md): what is fine-tuned, the adapter's size, and
// the uplink so far against what full fine-tuning of the same updates would have sent; with the
// base's own samples (the "before") beside the grid of the run's effective model (the "after").
import type { LoraStatus, RunTotals } from '@fedbit/core';
import { formatBytes } from '../shared/format';

export function LoraCard({ lora, totals }: { lora: LoraStatus; totals: RunTotals }) {
  const ratio = lora.fullFrameBytes32 / lora.adapterFrameBytes32;
  return (
    <section className="card lora" data-testid="lora-card">
      <h2 data-testid="lora-title">
        Fine-tuning adapters of <strong>{lora.base}</strong>
      </h2>
      <p className="small">
        {lora.method === 'ffa-lora' ? 'FFA-LoRA (A frozen, only B trained: the merge is exact)' : 'FedIT (A and B trained and averaged separately: the baseline)'}, rank {lora.rank}, on{' '}
        {lora.targets.join(', ')}.
      </p>
      <p className="small" data-testid="lora-size">
        Adapter: <strong>{lora.adapterParams.toLocaleString('en')}</strong> parameters ({formatBytes(lora.adapterFrameBytes32)} at 32 bits) of the model's {lora.modelParams.toLocaleString('en')}{' '}
        ({formatBytes(lora.fullFrameBytes32)}): {ratio.toFixed(1)}x fewer bytes per update. The base came down once per device ({formatBytes(lora.baseBytes)}, 16 bits).
      </p>
      <p className="small" data-testid="lora-uplink">
        Uplink so far <strong>{formatBytes(totals.uplinkBytes)}</strong>; full fine-tuning would have sent about {formatBytes(totals.uplinkBytes * ratio)} for the same updates.
      </p>
      <figure>
        <img data-testid="lora-base-samples" src="/api/samples/base" alt={`Samples from the base ${lora.base} alone, before fine-tuning`} />
        <figcaption className="hint">The base alone, before fine-tuning (the grid beside it is the fine-tuned model).</figcaption>
      </figure>
    </section>
  );
}
