import { describe, expect, it } from 'vitest';
import { buildLoraLayout, loraBlocks, loraDelta, sharedA, type LoraAdapterShape } from './layout';

const SHAPES: LoraAdapterShape[] = [
  { name: 'in.conv', fanIn: 9, fanOut: 4, rank: 2, scale: 0.5 },
  { name: 'time.dense1', fanIn: 6, fanOut: 5, rank: 3, scale: 1 },
];

describe('LoRA layout', () => {
  it('puts every A, then every B, and uploads B only (FFA-LoRA) or both (FedIT)', () => {
    const ffa = buildLoraLayout(SHAPES, 'ffa-lora');
    expect(ffa.adapters.map((a) => [a.aOffset, a.bOffset])).toEqual([
      [0, 0],
      [18, 8],
    ]);
    expect([ffa.aLength, ffa.bLength, ffa.bStart, ffa.trainableLength]).toEqual([36, 23, 0, 23]);
    const fedit = buildLoraLayout(SHAPES, 'fedit');
    expect([fedit.bStart, fedit.trainableLength]).toEqual([36, 59]);
  });

  it('refuses a bad rank, shape, scale, name or method, saying what was expected', () => {
    const one = (s: Partial<LoraAdapterShape>) => [{ ...SHAPES[0], ...s }];
    expect(() => buildLoraLayout(one({ rank: 0 }), 'ffa-lora')).toThrow(/'in.conv': rank must be an integer >= 1, got 0/);
    expect(() => buildLoraLayout(one({ rank: 5 }), 'ffa-lora')).toThrow(/rank 5 exceeds min\(fanIn, fanOut\) = 4/);
    expect(() => buildLoraLayout(one({ fanIn: 2.5 }), 'ffa-lora')).toThrow(/fanIn must be an integer >= 1/);
    expect(() => buildLoraLayout(one({ scale: NaN }), 'ffa-lora')).toThrow(/scale must be a finite number > 0/);
    expect(() => buildLoraLayout([SHAPES[0], SHAPES[0]], 'ffa-lora')).toThrow(/appears twice/);
    expect(() => buildLoraLayout([], 'ffa-lora')).toThrow(/at least one adapter/);
    expect(() => buildLoraLayout(SHAPES, 'lora' as never)).toThrow(/unknown LoRA method 'lora': expected 'ffa-lora' or 'fedit'/);
  });

  it('derives the same A from the same seed, N(0, 1/fanIn)', () => {
    const layout = buildLoraLayout([{ name: 'wide', fanIn: 400, fanOut: 50, rank: 50, scale: 1 }], 'ffa-lora');
    const a = sharedA(layout, 42);
    expect(sharedA(layout, 42)).toEqual(a);
    expect(sharedA(layout, 43)).not.toEqual(a);
    const variance = a.reduce((s, v) => s + v * v, 0) / a.length;
    expect(variance).toBeCloseTo(1 / 400, 4);
  });

  it('splits a trainable vector into A and B blocks and refuses a wrong length', () => {
    const ffa = buildLoraLayout(SHAPES, 'ffa-lora');
    const a = sharedA(ffa, 1);
    const b = new Float32Array(23).fill(2);
    expect(loraBlocks(ffa, b, a)).toEqual({ a, b });
    expect(() => loraBlocks(ffa, new Float32Array(22), a)).toThrow(/has 22 values, expected 23/);
    expect(() => loraBlocks(ffa, b)).toThrow(/pass the shared A block of 36 values/);
    const fedit = buildLoraLayout(SHAPES, 'fedit');
    const v = Float32Array.from({ length: 59 }, (_, i) => i);
    const blocks = loraBlocks(fedit, v);
    expect(blocks.a.length).toBe(36);
    expect(blocks.b[0]).toBe(36);
  });

  it("computes dW[i, o] = scale * sum_k A[k, i] B[o, k] (the transpose of the paper's B A)", () => {
    const [ad] = buildLoraLayout([{ name: 'l', fanIn: 3, fanOut: 2, rank: 2, scale: 0.5 }], 'fedit').adapters;
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // A [2, 3]
    const b = Float32Array.from([1, 0, 0, 1]); // B [2, 2] = I
    // B A = A; stored transposed [3, 2]: rows (1, 4), (2, 5), (3, 6), times 0.5
    expect(Array.from(loraDelta(ad, a, b))).toEqual([0.5, 2, 1, 2.5, 1.5, 3]);
  });
});
