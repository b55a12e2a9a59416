import { SAMPLES_EXPECTATION, samplesSource, samplesUrl } from '../shared/samples';

/** Images the model draws after the latest committed round (one row per class for a class-conditional model); a new URL each round reloads it. */
export function SampleGrid({ round, emaDecay, classNames }: { round: number; emaDecay?: number; classNames?: string[] }) {
  return (
    <div className="card samples">
      <h2>Samples {round > 0 ? `after round ${round}` : '(before training)'}</h2>
      <p className="hint" data-testid="samples-about">
        {samplesSource(emaDecay)}
        {classNames ? `; one row per class (${classNames.join(', ')}), top to bottom` : ''}. {SAMPLES_EXPECTATION}
      </p>
      <img data-testid="sample-grid" data-round={round} src={samplesUrl(round, null)} alt={`Samples from the global model after round ${round}`} />
    </div>
  );
}
