import { describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../config';
import { modelLayout } from '../model';
import { decodeSafetensors, encodeSafetensors, exportSafetensors, importSafetensors } from './safetensors';

const cfg = resolveModelConfig('tiny', { imageSize: 16, channels: 1, numClasses: 10 });
const layout = modelLayout(cfg);
const weights = Float32Array.from({ length: layout.total }, (_, i) => Math.sin(i) * 0.5);

describe('safetensors', () => {
  it('writes the spec layout: header length, space-padded JSON, data aligned to 8 bytes, tensors back to back', () => {
    const file = exportSafetensors(cfg, weights, { 'fedbit.schedule': '{"kind":"cosine","steps":100}' });
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
    expect(header.__metadata__).toMatchObject({ format: 'pt', 'fedbit.prediction': 'eps', 'fedbit.schedule': '{"kind":"cosine","steps":100}' });
    expect(JSON.parse(header.__metadata__['fedbit.config'])).toEqual(cfg);
    expect(file.byteLength).toBe(8 + n + layout.total * 4);
  });

  it('names and lays out tensors as PyTorch does: conv [out,in,kh,kw], linear [out,in], embedding as is', () => {
    const { tensors } = decodeSafetensors(exportSafetensors(cfg, weights));
    const conv = layout.entries.find((e) => e.name === 'down0.res0.conv1.kernel')!;
    const [kh, kw, ci, co] = conv.shape;
    expect(tensors.get('down0.res0.conv1.weight')!.shape).toEqual([co, ci, kh, kw]);
    // element (y=2, x=1, i=3, o=5) of ours is element [5, 3, 2, 1] of PyTorch's
    const ours = weights[conv.offset + ((2 * kw + 1) * ci + 3) * co + 5];
    expect(tensors.get('down0.res0.conv1.weight')!.data[((5 * ci + 3) * kh + 2) * kw + 1]).toBe(ours);
    const dense = layout.entries.find((e) => e.name === 'time.dense1.kernel')!;
    expect(tensors.get('time.dense1.weight')!.shape).toEqual([dense.shape[1], dense.shape[0]]);
    expect(tensors.get('label.embed.weight')!.shape).toEqual([11, cfg.embedDim]);
    expect(tensors.get('out.norm.weight')!.shape).toEqual([cfg.baseChannels]);
    expect(tensors.size).toBe(layout.entries.length);
  });

  it('round-trips to the same config and weights', () => {
    const back = importSafetensors(exportSafetensors(cfg, weights));
    expect(back.config).toEqual(cfg);
    expect(back.weights).toEqual(weights);
  });

  it('refuses a file it cannot read exactly, saying why', () => {
    const good = encodeSafetensors([{ name: 'a', shape: [2], data: Float32Array.of(1, 2) }]);
    expect(decodeSafetensors(good).tensors.get('a')!.data).toEqual(Float32Array.of(1, 2));
    expect(() => decodeSafetensors(good.subarray(0, 4))).toThrow(/at least the 8-byte header length/);
    expect(() => decodeSafetensors(good.subarray(0, good.byteLength - 4))).toThrow(/ends at byte 8, the data has 4/);
    const header = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() => decodeSafetensors(header({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }))).toThrow(/dtype F16; only F32/);
    expect(() => decodeSafetensors(header({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }))).toThrow(/starts at byte 4, expected 0/);
    expect(() => decodeSafetensors(header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }))).toThrow(/cover 4 bytes of 8/);
    expect(() => decodeSafetensors(header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }))).toThrow(/needs 12/);
    expect(() => importSafetensors(good)).toThrow(/no fedbit.config/);
    expect(() => exportSafetensors(cfg, new Float32Array(3))).toThrow(/3 weights given/);
  });
});
