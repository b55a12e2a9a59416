import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, createAggregator, encodeUpdate, frameBytes, type Assignment, type Refusal, type UpdateMeta } from '@fedbit/core';
import { DeviceRegistry } from '../devices/registry';
import { OpenRound, type Slot } from './open-round';
import type { PlannedTask } from './plan';

const N = 700;
const registry = new DeviceRegistry();
const hello = (name: string) => ({
  protocol: PROTOCOL_VERSION,
  name,
  platform: 'node' as const,
  backend: 'wasm' as const,
  telemetry: { battery: 0.9, charging: false, preference: 'balanced' as const, deviceClass: 'phone' as const },
});
const a = registry.upsert('device-a', hello('a'), 'socket-a', 0, 0);
const b = registry.upsert('device-b', hello('b'), 'socket-b', 1, 1);
const assignment = (bits: 4 | 32): Assignment => ({ bits, reason: 'test', energyJ: 1, latencyS: 1, variance: 0 });
const planned = (device = a, bits: 4 | 32 = 4): PlannedTask => ({ device, assignment: assignment(bits), trainBits: 8, weight: 10, work: { steps: 3, macs: 1 }, mode: 'full', keepRatio: 1, uploadLength: N });
const update = Float32Array.from({ length: N }, (_, i) => Math.sin(i) / 100);
const meta = (round: number, steps = 3): UpdateMeta => ({ round, samples: 10, steps, trainMs: 5, loss: 0.5, updateNormSq: 1 });

function openRound(round = 2) {
  const aggregator = createAggregator({ rule: 'fedavg' }, { length: N });
  const open = new OpenRound({ round, startedAt: Date.now(), model: { version: round - 1, sha256: '0'.repeat(64), bytes: 1 }, aggregator, deadlineS: 60, maxUpdateBytes: frameBytes(32, N, 512) }, [planned(a, 4), planned(b, 32)]);
  return { open, aggregator };
}

function expectRefused(result: Slot | Refusal, code: string, field?: string): void {
  expect('ok' in result && result.ok === false).toBe(true);
  expect((result as Refusal).code).toBe(code);
  if (field) expect((result as Refusal).field).toBe(field);
}

describe('OpenRound.admit', () => {
  it('accepts the assigned precision into the aggregator and refuses a second update', () => {
    const { open, aggregator } = openRound();
    const slot = open.admit('device-a', meta(2), encodeUpdate(update, { bits: 4, round: 2 }));
    expect('status' in slot && slot.status).toBe('accepted');
    expect(aggregator.count).toBe(1);
    expect(open.accepted).toHaveLength(1);
    expect(aggregator.totalWeight).toBe(10);
    expectRefused(open.admit('device-a', meta(2), encodeUpdate(update, { bits: 4, round: 2 })), 'duplicate');
    expect(aggregator.count).toBe(1);
    expect(aggregator.totalWeight).toBe(10);
  });

  it('refuses each bad update with its code, and a refusal changes nothing', () => {
    const { open, aggregator } = openRound();
    const good = encodeUpdate(update, { bits: 4, round: 2 });
    const cases: Array<[string, () => Slot | Refusal, string, string?]> = [
      ['another round', () => open.admit('device-a', meta(3), encodeUpdate(update, { bits: 4, round: 3 })), 'stale-round'],
      ['not selected', () => open.admit('device-z', meta(2), good), 'not-selected'],
      ['more steps than asked', () => open.admit('device-a', meta(2, 4), good), 'bad-value', 'steps'],
      ['oversized', () => open.admit('device-a', meta(2), new Uint8Array(frameBytes(32, N, 512) + 1)), 'oversized'],
      ['wrong length', () => open.admit('device-a', meta(2), encodeUpdate(update.subarray(1), { bits: 4, round: 2 })), 'wrong-length', 'length'],
      ['wrong bits', () => open.admit('device-a', meta(2), encodeUpdate(update, { bits: 8, round: 2 })), 'bad-value', 'bits'],
      ['frame of another round', () => open.admit('device-a', meta(2), encodeUpdate(update, { bits: 4, round: 5 })), 'bad-value', 'round'],
      ['flipped byte', () => open.admit('device-a', meta(2), good.map((v, i) => (i === 100 ? v ^ 1 : v))), 'bad-checksum', 'checksum'],
      ['truncated', () => open.admit('device-a', meta(2), good.subarray(0, 10)), 'malformed-frame'],
    ];
    for (const [what, attempt, code, field] of cases) {
      expectRefused(attempt(), code, field);
      expect(aggregator.count, what).toBe(0);
      expect(aggregator.totalWeight, what).toBe(0);
      expect(open.slots.get('device-a')!.status, what).toBe('pending');
      expect(open.slots.get('device-a')!.record, what).toBeNull();
      expect(open.accepted, what).toHaveLength(0);
    }
    expect('status' in open.admit('device-a', meta(2), good)).toBe(true);
  });

  it('closes when every device answered or left, and refuses what comes late', () => {
    const { open, aggregator } = openRound();
    open.admit('device-a', meta(2), encodeUpdate(update, { bits: 4, round: 2 }));
    expect(open.closed).toBe(false);
    open.gone('device-b');
    expect(open.closedBy).toBe('all-answered');
    expectRefused(open.admit('device-b', meta(2), encodeUpdate(update, { bits: 32, round: 2 })), 'late');
    expect(aggregator.count).toBe(1);
    expect(open.slots.get('device-b')!.status).toBe('gone');
  });

  it('gives a rejoining device its slot back while the round is open', () => {
    const { open } = openRound();
    open.gone('device-b');
    expect(open.slots.get('device-b')!.status).toBe('gone');
    expect(open.rejoined(b)?.status).toBe('pending');
    open.close('deadline');
    expect(open.rejoined(b)).toBeNull();
  });
});
