// `npm run pretrain`: every bad flag says which and what it expects, and a 2-step run writes a
// base that the loader accepts; a run resumes from its checkpoint and refuses other settings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@fedbit/server';
import { loadPretrainedBase } from '@fedbit/diffusion/node';
import { UsageError } from './args';
import { pretrain } from './pretrain';

const dir = mkdtempSync(join(tmpdir(), 'fedbit-pretrain-'));
const quiet = (): void => undefined;

describe('npm run pretrain', () => {
  it('prints help and exits 2 on a bad flag, as a process', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/main.ts'), 'pretrain', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--vendors <list>.*\(default: "apple,google"\)/s);
    expect(help.stdout).toMatch(/--resume/);
    expect(help.stdout).toMatch(/Examples:/);
    const bad = run('--size', 'huge');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--size: expected tiny, small or default/);
    expect(bad.stderr).toMatch(/npm run pretrain -- --help/);
  });

  it('says which flag is wrong and what it expects, and writes nothing', async () => {
    const out = join(dir, 'never');
    const cases: Array<[string[], RegExp]> = [
      [['--steps', '0'], /--steps: expected a whole number from 1 to 10000000, got 0/],
      [['--batch', 'x'], /--batch: expected a whole number from 1 to 512, got "x"/],
      [['--lr', '2'], /--lr: expected a number above 0 and below 1, got "2"/],
      [['--seed', '-1'], /--seed: expected a whole number from 0 to 2147483647/],
      [['--vendors', 'apple,snapchat'], /--vendors: expected vendors from apple, google, twitter, facebook, separated by commas/],
      [['--vendors', 'apple,apple'], /--vendors: expected distinct vendors/],
      [['--ema', '1'], /--ema: expected a decay above 0 and below 1/],
      [['--backend', 'webgl'], /--backend: expected wasm or cpu/],
      [['--name', 'Bad Name'], /--name: expected lowercase letters/],
      [['--bogus'], /unknown option '--bogus'/],
      [['--resume'], /--resume: no checkpoint at .*checkpoint\.json/],
    ];
    for (const [args, message] of cases) {
      await expect(pretrain([...args, '--out', out, '--work', join(dir, 'never-work')], quiet), args.join(' ')).rejects.toThrow(UsageError);
      await expect(pretrain([...args, '--out', out, '--work', join(dir, 'never-work')], quiet)).rejects.toThrow(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('a 2-step run writes a loadable base; --resume continues it and refuses other settings', async () => {
    const out = join(dir, 'models', 'tiny-base');
    const work = join(dir, 'work');
    const args = ['--size', 'tiny', '--steps', '2', '--batch', '2', '--vendors', 'twitter', '--out', out, '--work', work, '--fid-samples', '0', '--sample-steps', '1'];
    const lines: string[] = [];
    await pretrain(args, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/step 2\/2 {2}loss \d/);
    const base = await loadPretrainedBase('tiny-base', join(dir, 'models'));
    expect(base.manifest.training).toMatchObject({ seed: 1, steps: 2, batch: 2, vendors: ['twitter'] });
    expect(base.manifest.training.command).toBe(`npm run pretrain -- ${args.join(' ')}`);
    expect(base.manifest.config).toMatchObject({ size: 'tiny', imageSize: 32, channels: 3, numClasses: 9 });
    expect(Number.isFinite(base.manifest.figures.finalLoss)).toBe(true);
    expect(existsSync(join(work, 'samples.png'))).toBe(true);
    // resuming a finished run writes the same base again
    const first = readFileSync(join(out, 'weights.f16.bin'));
    await pretrain([...args, '--resume'], quiet);
    expect(readFileSync(join(out, 'weights.f16.bin')).equals(first)).toBe(true);
    await expect(pretrain(args, quiet)).rejects.toThrow(/already holds a checkpoint; pass --resume/);
    await expect(pretrain([...args, '--write-only'], quiet)).rejects.toThrow(/--write-only needs --resume/);
    // a run stopped early: --write-only writes the base from the checkpoint with its true step count
    const state = JSON.parse(readFileSync(join(work, 'checkpoint.json'), 'utf8')) as { step: number };
    writeFileSync(join(work, 'checkpoint.json'), JSON.stringify({ ...state, step: 1 }));
    await pretrain([...args, '--resume', '--write-only'], quiet);
    const early = await loadPretrainedBase('tiny-base', join(dir, 'models'));
    expect(early.manifest.training.steps).toBe(1);
    expect(early.manifest.figures.plannedSteps).toBe(2);
    await expect(pretrain([...args.slice(0, 3), '3', ...args.slice(4), '--resume'], quiet)).rejects.toThrow(/made with other settings: --steps 2 \(now 3\)/);
  });
});
