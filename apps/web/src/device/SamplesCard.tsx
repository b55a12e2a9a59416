import { useEffect, useState } from 'react';
import { SAMPLES_EXPECTATION, samplesSource, samplesUrl } from '../shared/samples';

interface SamplesInfo {
  emaDecay?: number;
  classNames?: string[];
}

// Images drawn by the shared model after the latest committed round; the URL changes each round.
// A class-conditional model can be asked for one class ("draw a 7").
export function SamplesCard({ round }: { round: number }) {
  const [info, setInfo] = useState<SamplesInfo>({});
  const [label, setLabel] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    fetch('/api/status')
      .then((r) => (r.ok ? r.json() : null))
      .then((s: { config?: SamplesInfo } | null) => {
        if (live && s?.config) setInfo({ emaDecay: s.config.emaDecay, classNames: s.config.classNames });
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  const what = label === null ? 'What the shared model draws now' : `The shared model's ${info.classNames?.[label] ?? label}s`;
  return (
    <div className="card samples">
      <h2>
        {what}
        {round > 0 ? ` (after round ${round})` : ' (before training)'}
      </h2>
      {info.classNames && (
        <div className="label-picker" role="group" aria-label="Ask the model to draw one class">
          <button type="button" aria-pressed={label === null} onClick={() => setLabel(null)}>
            all
          </button>
          {info.classNames.map((name, i) => (
            <button key={name} type="button" data-testid={`draw-class-${i}`} aria-pressed={label === i} onClick={() => setLabel(i)}>
              {name}
            </button>
          ))}
        </div>
      )}
      <img data-testid="samples" data-round={round} data-label={label ?? ''} src={samplesUrl(round, label)} alt={`${what} after round ${round}`} width={256} height={256} />
      <p className="hint">
        {samplesSource(info.emaDecay)}. {SAMPLES_EXPECTATION}
      </p>
    </div>
  );
}
