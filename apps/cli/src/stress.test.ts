import { describe, expect, it } from 'vitest';
import { stalledMinutes, stressFleet } from './stress';

describe('classroom-stress fleet', () => {
  it('is the same for every mode: 10x spread of step times, 20% late, 20% leaving mid-task', () => {
    const fleet = stressFleet(30, 1, 180);
    expect(stressFleet(30, 1, 180)).toEqual(fleet);
    const slow = fleet.map((m) => m.slowdown);
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...slow)).toBeLessThanOrEqual(10);
    expect(Math.max(...slow) / Math.min(...slow)).toBeGreaterThan(4);
    const late = fleet.filter((m) => m.joinAtS > 0);
    const leavers = fleet.filter((m) => m.leaveDuringTask !== null);
    expect(late).toHaveLength(6);
    expect(leavers).toHaveLength(6);
    expect(late.every((m) => m.joinAtS >= 18 && m.joinAtS <= 90)).toBe(true);
    expect(late.some((m) => leavers.includes(m))).toBe(false);
  });

  it('counts the whole minutes in which no version was committed', () => {
    const t0 = 1_000_000;
    expect(stalledMinutes([], t0, 3)).toBe(3);
    expect(stalledMinutes([t0 + 10_000, t0 + 130_000], t0, 3)).toBe(1);
    expect(stalledMinutes([t0 + 59_999, t0 + 60_000, t0 + 179_000], t0, 3)).toBe(0);
    expect(stalledMinutes([t0 + 200_000], t0, 3)).toBe(3);
  });
});
