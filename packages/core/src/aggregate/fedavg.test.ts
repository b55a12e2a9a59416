import { describe, expect, it } from 'vitest';
import { clipFactor } from './clip';
import { fedAvgWeights } from './fedavg';

describe('fedAvgWeights', () => {
  it('normalises sample counts', () => {
    expect(fedAvgWeights([10, 30, 60])).toEqual([0.1, 0.3, 0.6]);
    expect(fedAvgWeights([0, 5])).toEqual([0, 1]);
  });

  it('refuses negative, non-finite and all-zero counts', () => {
    expect(() => fedAvgWeights([1, -1])).toThrow(/sample count 1/);
    expect(() => fedAvgWeights([NaN])).toThrow(RangeError);
    expect(() => fedAvgWeights([0, 0])).toThrow(/sum to 0/);
    expect(() => fedAvgWeights([])).toThrow(RangeError);
  });
});

describe('clipFactor', () => {
  it('is min(1, clipNorm / norm)', () => {
    expect(clipFactor(25, 10)).toBe(1);
    expect(clipFactor(100, 5)).toBe(0.5);
    expect(clipFactor(0, 1)).toBe(1);
  });
});
