import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, resolveRunConfig } from './config';

describe('run config', () => {
  it('fills every default and keeps what was given', () => {
    const config = resolveRunConfig({ rounds: 3, dataset: { partition: 'dirichlet' } });
    expect(config.rounds).toBe(3);
    expect(config.dataset).toMatchObject({ name: 'mnist', partition: 'dirichlet', alpha: 0.5, imageSize: 16 });
    expect(config.policy.kind).toBe('on-demand');
    expect(config.codec.blockSize).toBeGreaterThan(0);
  });

  it('has no split section by default, and resolves one with its defaults', () => {
    expect(resolveRunConfig({}).split).toBeNull();
    expect(resolveRunConfig({ split: { cut: 2 } }).split).toEqual({ cut: 2, dropout: 0, activationBits: 32, gradientBits: 32, keepRatio: 1, perDevice: false });
  });

  it('names the wrong field and what was expected', () => {
    const cases: Array<[unknown, string]> = [
      [{ rounds: 0 }, 'rounds'],
      [{ dataset: { name: 'cifar' } }, 'dataset.name'],
      [{ policy: { kind: 'fixed', bits: 3 } }, 'policy'],
      [{ allowedBits: [5] }, 'allowedBits.0'],
      [{ surprise: true }, '(payload)'],
      [{ quorum: 5, devicesPerRound: 2 }, 'quorum'],
      [{ split: { cut: 0 } }, 'split.cut'],
      [{ split: { dropout: 1 } }, 'split.dropout'],
      [{ split: { gradientBits: 3 } }, 'split.gradientBits'],
      [{ split: { keepRatio: 0 } }, 'split.keepRatio'],
      [{ split: { keepRatio: 0.5, minKeepRatio: 0.6 } }, 'split.minKeepRatio'],
      [{ split: { perDevice: true, server: 'shared' } }, 'split.server'],
      [{ split: { cut: 1, extra: 1 } }, 'split'],
      [{ split: {}, mode: 'async' }, 'split'],
    ];
    for (const [input, field] of cases) {
      let error: unknown;
      try {
        resolveRunConfig(input);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(input)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field.startsWith(field), `${(error as ConfigError).field} for ${JSON.stringify(input)}`).toBe(true);
    }
  });

  it('reads a config file and says what is wrong with a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbit-config-'));
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ rounds: 7 }));
    writeFileSync(join(dir, 'broken.json'), '{ rounds: 7');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ localSteps: 'many' }));
    expect(loadConfigFile(join(dir, 'ok.json')).rounds).toBe(7);
    expect(() => loadConfigFile(join(dir, 'broken.json'))).toThrow(/not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'bad.json'))).toThrow(/localSteps/);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/missing.json: no such file/);
  });

  it('builds on a preset, with given fields over it, and defaults the merge rule from the local work', () => {
    const classroom = resolveRunConfig({ preset: 'classroom' });
    expect(classroom).toMatchObject({ mode: 'async', localWork: 'budget', aggregation: { rule: 'fednova' } });
    const tuned = resolveRunConfig({ preset: 'classroom', rounds: 7, async: { buffer: 5 } });
    expect(tuned.rounds).toBe(7);
    expect(tuned.async).toMatchObject({ buffer: 5, maxStaleness: 8 });
    expect(resolveRunConfig({}).aggregation.rule).toBe('fedavg');
    expect(resolveRunConfig({ localWork: 'budget' }).aggregation.rule).toBe('fednova');
    expect(resolveRunConfig({ localWork: 'budget', aggregation: { rule: 'fedavg' } }).aggregation.rule).toBe('fedavg');
    expect(() => resolveRunConfig({ preset: 'lecture-hall' })).toThrow(/preset: "lecture-hall" is not a preset; expected one of classroom/);
    expect(() => resolveRunConfig({ mode: 'eventually' })).toThrow(ConfigError);
  });
});

