import { describe, expect, it } from 'vitest';
import { WeightedMeanAggregator, encodeUpdate } from '@fedbit/core';
import { decodePartial, encodePartial } from './partial';

const expect7 = { round: 3, term: 2, nodeId: 'b', length: 7 };

function partialOf(values: number[], weight = 2): Uint8Array {
  return encodePartial({ round: 3, term: 2, nodeId: 'b', devices: ['device-1'] }, { sum: Float64Array.from(values), weight, count: 1, weightedSteps: weight });
}

describe('a partial sum on the wire', () => {
  it('round-trips, and partials added up give the mean one aggregator gives of all the updates', () => {
    const updates = [0, 1, 2, 3].map((k) => Float32Array.from({ length: 7 }, (_, i) => Math.sin(i + k) * 1e-2));
    const frames = updates.map((u, k) => encodeUpdate(u, { bits: 8, round: 3, seed: k }));
    const one = new WeightedMeanAggregator({ length: 7, normalizeSteps: false, stalenessExponent: 0.5 });
    frames.forEach((f, k) => one.add(f, k + 1));
    const leader = new WeightedMeanAggregator({ length: 7, normalizeSteps: false, stalenessExponent: 0.5 });
    const node = new WeightedMeanAggregator({ length: 7, normalizeSteps: false, stalenessExponent: 0.5 });
    frames.forEach((f, k) => (k < 2 ? leader : node).add(f, k + 1));
    const wire = encodePartial({ round: 3, term: 2, nodeId: 'b', devices: ['device-2', 'device-3'] }, node.partial());
    const back = decodePartial(wire, expect7);
    expect(back.header.devices).toEqual(['device-2', 'device-3']);
    expect(back.count).toBe(2);
    expect(back.weight).toBe(7);
    leader.addPartial(back);
    expect(leader.count).toBe(4);
    const cluster = leader.finish();
    const reference = one.finish();
    for (let i = 0; i < 7; i++) expect(cluster[i]).toBeCloseTo(reference[i], 9);
  });

  it('refuses a partial of the wrong length, with NaN or infinite values, for another round, term or node, or malformed', () => {
    const good = partialOf([1, 2, 3, 4, 5, 6, 7]);
    expect(() => decodePartial(good, expect7)).not.toThrow();
    expect(() => decodePartial(partialOf([1, 2, 3]), expect7)).toThrow(/holds 3 values; the model has 7/);
    expect(() => decodePartial(partialOf([1, 2, NaN, 4, 5, 6, 7]), expect7)).toThrow(/value 2 is NaN/);
    expect(() => decodePartial(partialOf([1, 2, 3, Infinity, 5, 6, 7]), expect7)).toThrow(/value 3 is Infinity/);
    expect(() => decodePartial(good, { ...expect7, round: 4 })).toThrow(/expected node b, round 4, term 2/);
    expect(() => decodePartial(good, { ...expect7, term: 3 })).toThrow(/term 3/);
    expect(() => decodePartial(good, { ...expect7, nodeId: 'c' })).toThrow(/expected node c/);
    expect(() => decodePartial(partialOf([1, 2, 3, 4, 5, 6, 7], 0), expect7)).toThrow(/weight > 0/);
    expect(() => decodePartial(good.subarray(0, good.byteLength - 8), expect7)).toThrow(/bytes, expected/);
    expect(() => decodePartial(good.subarray(0, 5), expect7)).toThrow(/at least 8/);
    const badMagic = good.slice();
    badMagic[0] ^= 0xff;
    expect(() => decodePartial(badMagic, expect7)).toThrow(/bad magic/);
    const badJson = good.slice();
    badJson[9] = 0x7b; // a second "{" inside the header
    expect(() => decodePartial(badJson, expect7)).toThrow(/header/);
    const twice = encodePartial({ round: 3, term: 2, nodeId: 'b', devices: ['device-1', 'device-1'] }, { sum: new Float64Array(7), weight: 2, count: 2, weightedSteps: 2 });
    expect(() => decodePartial(twice, expect7)).toThrow(/names a device twice/);
  });
});
