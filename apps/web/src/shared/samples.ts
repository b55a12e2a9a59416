// What the sample images are and what to expect of them: one wording for the device page and the
// dashboard. The figures come from the central anchor (docs/RESULTS.md, "Training recipe"): the
// tiny model draws noise for its first few hundred steps, strokes by about 1,000, and digits a
// classifier recognises by about 2,000 steps of training in all.
export const SAMPLES_EXPECTATION =
  'Noise at first, then blurry strokes; digits take shape after about 2,000 training steps in all (a few dozen rounds of local steps).';

export function samplesSource(emaDecay: number | undefined): string {
  return emaDecay && emaDecay > 0 ? `drawn with the average of the recent global models (EMA ${emaDecay})` : 'drawn with the latest global model';
}

export function samplesUrl(round: number, label: number | null): string {
  return label === null ? `/api/samples?round=${round}` : `/api/samples?round=${round}&label=${label}`;
}
