// The lora experiment over seeds: means, spreads, and the pairing of each run with the base on the same seed.
import { describe, expect, it } from 'vitest';
import { overLoraSeeds, pickLoraRuns } from './lora-experiment';

const run = (seed: number, fid: number, energyJ = 1, uplinkBytes = 100, heldOutLoss = 0.05) => ({ seed, uplinkBytes, downlinkBytes: 0, energyJ, fid, heldOutLoss, params: 10, rounds: 10, wallS: 1 });

describe('overLoraSeeds', () => {
  it('reports means and sample standard deviations over the seeds, and each seed', () => {
    const r = overLoraSeeds([run(1, 10, 1), run(2, 12, 3), run(3, 14, 5)], null);
    expect(r.fid).toBeCloseTo(12);
    expect(r.spread.fid).toBeCloseTo(2);
    expect(r.energyJ).toBeCloseTo(3);
    expect(r.spread.energyJ).toBeCloseTo(2);
    expect(r.seeds.map((s) => s.seed)).toEqual([1, 2, 3]);
    expect(r.pairedVsBase).toBeNull();
  });

  it('pairs each run with the base of its own seed, whatever order the seeds finished in', () => {
    const base = [run(1, 100), run(2, 120), run(3, 110)];
    // each seed 5 below its own base: paired mean -5 with no spread, though the unpaired spread is large
    const r = overLoraSeeds([run(3, 105), run(1, 95), run(2, 115)], base);
    expect(r.pairedVsBase).toEqual({ mean: -5, sd: 0 });
    expect(r.spread.fid).toBeGreaterThan(5);
    const worse = overLoraSeeds([run(1, 101), run(2, 119), run(3, 112)], base);
    expect(worse.pairedVsBase!.mean).toBeCloseTo(2 / 3);
  });

  it('pairs the held-out loss with the base of its own seed, in percent of the base\'s', () => {
    const base = [run(1, 100, 1, 100, 0.05), run(2, 100, 1, 100, 0.04)];
    const r = overLoraSeeds([run(2, 100, 1, 100, 0.038), run(1, 100, 1, 100, 0.049)], base);
    expect(r.lossVsBase!.meanPct).toBeCloseTo((-5 + -2) / 2);
    expect(r.lossVsBase!.sdPct).toBeCloseTo(Math.sqrt(4.5));
    expect(overLoraSeeds(base, null).lossVsBase).toBeNull();
  });

  it('one seed has no spread', () => {
    const r = overLoraSeeds([run(1, 159.9)], [run(1, 166.2)]);
    expect(r.spread.fid).toBe(0);
    expect(r.pairedVsBase!.mean).toBeCloseTo(-6.3);
  });
});

describe('pickLoraRuns', () => {
  it('runs the preset\'s three by default, the sweep with --sweep, and exactly what --runs names', () => {
    expect(Object.keys(pickLoraRuns(undefined, false))).toEqual(['full', 'ffa-lora', 'fedit-lora']);
    expect(Object.keys(pickLoraRuns(undefined, true))).toContain('ffa-lora-on-demand');
    const picked = pickLoraRuns(['ffa-lora', 'ffa-lora-r16-lr-1e-2'], false);
    expect(Object.keys(picked)).toEqual(['ffa-lora', 'ffa-lora-r16-lr-1e-2']);
    expect(picked['ffa-lora-r16-lr-1e-2']).toMatchObject({ lora: { rank: 16, method: 'ffa-lora' }, learningRate: 1e-2 });
  });
  it('refuses an unknown name, naming the known ones, and --runs with --sweep', () => {
    expect(() => pickLoraRuns(['full', 'bogus'], false)).toThrow(/unknown bogus; expected names from full, ffa-lora/);
    expect(() => pickLoraRuns(['full'], true)).toThrow(/--runs and --sweep/);
  });
});
