import { describe, expect, it } from 'vitest';
import { TRAIN_SHARE_OF_DEADLINE, anotherStepFits, planLocalWork } from './local-work';

const base = { maxSteps: 20, deadlineMs: 60_000, measuredStepMs: null, modelledStepMs: 100, transmitMs: 0 };

describe('planLocalWork', () => {
  it('gives a fast device the cap and a slow one the steps that fit', () => {
    expect(planLocalWork(base)).toMatchObject({ steps: 20, basis: 'modelled' });
    const slow = planLocalWork({ ...base, measuredStepMs: 5_000 });
    expect(slow.basis).toBe('measured');
    expect(slow.steps).toBe(Math.floor((60_000 * TRAIN_SHARE_OF_DEADLINE) / 5_000));
    expect(slow.budgetMs).toBe(60_000 * TRAIN_SHARE_OF_DEADLINE);
  });

  it('plans at least one step, and leaves room for the upload', () => {
    expect(planLocalWork({ ...base, measuredStepMs: 1e9 }).steps).toBe(1);
    expect(planLocalWork({ ...base, transmitMs: 70_000 }).budgetMs).toBe(0);
    const withUpload = planLocalWork({ ...base, measuredStepMs: 1_000, transmitMs: 30_000 });
    expect(withUpload.steps).toBe(Math.floor((30_000 * TRAIN_SHARE_OF_DEADLINE) / 1_000));
  });

  it('refuses a cap below one step', () => {
    expect(() => planLocalWork({ ...base, maxSteps: 0 })).toThrow(/maxSteps/);
  });
});

describe('anotherStepFits', () => {
  it('always takes the first step, never passes the cap, and stops before overrunning the budget', () => {
    expect(anotherStepFits(0, 5, 0, 0)).toBe(true);
    expect(anotherStepFits(5, 5, 10, 1e9)).toBe(false);
    expect(anotherStepFits(3, 10, 300, 400)).toBe(true); // 300 + 100 <= 400
    expect(anotherStepFits(3, 10, 310, 400)).toBe(false);
    expect(anotherStepFits(3, 10, 1e9, undefined)).toBe(true);
  });
});
