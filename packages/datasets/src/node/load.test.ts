import { describe, expect, it } from 'vitest';
import { holdout } from '../holdout';
import { datasetPath, loadDataset } from './index';

describe('loadDataset (Node)', () => {
  it('loads 10,000 MNIST digits with labels 0..9, building the cache on first use', async () => {
    const ds = await loadDataset('mnist');
    expect([ds.count, ds.width, ds.height, ds.channels]).toEqual([10000, 28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(ds.pixels.reduce((a, b) => Math.max(a, b), 0)).toBe(255);
    expect(datasetPath('mnist', 28)).toMatch(/mnist-28\.bin$/);
  });

  it('resized MNIST keeps count, labels and the held-out split', async () => {
    const [big, small] = await Promise.all([loadDataset('mnist', { size: 28 }), loadDataset('mnist', { size: 14 })]);
    expect([small.width, small.count]).toEqual([14, 10000]);
    expect(small.labels).toEqual(big.labels);
    expect(holdout(small, { seed: 0 }).eval).toEqual(holdout(big, { seed: 0 }).eval);
  });

  it('rejects sizes it cannot make', async () => {
    await expect(loadDataset('mnist', { size: 64 })).rejects.toThrow(/28/);
  });
});
