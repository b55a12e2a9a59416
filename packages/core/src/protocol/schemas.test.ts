import { describe, expect, it } from 'vitest';
import { UpdateMetaSchema } from './schemas';

describe('UpdateMetaSchema', () => {
  const meta = { round: 1, samples: 900, steps: 40, trainMs: 1000, loss: 0.1, updateNormSq: 2, updateMaxAbs: 0.5 };

  it('takes the block scales sum when it is at least the norm, and leaves it optional', () => {
    expect(UpdateMetaSchema.parse({ ...meta, updateScaleSq: 3 }).updateScaleSq).toBe(3);
    expect(UpdateMetaSchema.parse(meta).updateScaleSq).toBeUndefined();
  });

  it('refuses a block scales sum below the squared norm, naming the field and the rule', () => {
    const result = UpdateMetaSchema.safeParse({ ...meta, updateScaleSq: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['updateScaleSq']);
    expect(result.error?.issues[0].message).toMatch(/at least updateNormSq/);
    expect(UpdateMetaSchema.safeParse({ ...meta, updateScaleSq: -1 }).success).toBe(false);
    expect(UpdateMetaSchema.safeParse({ ...meta, updateScaleSq: Infinity }).success).toBe(false);
  });
});
