// The command line as a person meets it: every mistake says what was wrong, where, what was
// expected and what to do, and --help works on every command. Real processes, as `npm run` starts them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, lanAddress } from '@fedbit/server';

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/main.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'fedbit-cli-'));

describe('the command line', () => {
  it('prints help for every command, with defaults and examples', () => {
    for (const command of ['serve', 'simulate', 'experiment']) {
      const { code, out } = cli(command, '--help');
      expect(code, command).toBe(0);
      expect(out).toMatch(/Options:/);
      expect(out).toMatch(/Examples:/);
    }
    expect(cli('simulate', '--help').out).toMatch(/--devices <n>.*\(default: "10"\)/s);
    expect(cli('--help').out).toMatch(/npm run simulate/);
  });

  it('says which flag is wrong and what it expects', () => {
    const cases: Array<[string[], RegExp]> = [
      [['simulate', '--devices', '-3'], /--devices: expected a whole number from 1 to 1000, got -3/],
      [['simulate', '--rounds', 'abc'], /--rounds: expected a whole number from 1 to 100000, got "abc"/],
      [['simulate', '--bogus'], /unknown option '--bogus'/],
      [['simulate', '--devices', '0', '--policy', 'nope'], /--devices: .*got 0\n\s+--policy: expected one of fedavg-32/],
      [['experiment', '--preset', 'huge'], /--preset: expected smoke, paper, paper-short, robust, privacy, lora or split/],
      [['experiment', '--preset', 'split', '--rounds', '0'], /--rounds: expected a whole number from 1 to 10000, got 0/],
      [['experiment', '--preset', 'split', '--runs', 'fl,nope'], /--runs: unknown nope; expected names from fl, split, split-light, mixed, split-light-v1/],
      [['experiment', '--preset', 'smoke', '--seeds', '1,1'], /--seeds: expected distinct seeds/],
      [['experiment', '--preset', 'smoke', '--seeds', '1,x'], /--seeds: expected whole-number seeds/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = cli(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(message);
      expect(err).toMatch(/--help/);
    }
  });

  it('names the config file that is missing or malformed, and lists every error in it at once', () => {
    expect(cli('simulate', '--config', join(dir, 'missing.json')).err).toMatch(/--config .*missing\.json: no such file/);
    writeFileSync(join(dir, 'broken.json'), '{"rounds": 3,');
    expect(cli('simulate', '--config', join(dir, 'broken.json')).err).toMatch(/--config .*broken\.json: not valid JSON/);
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ rounds: -1, batchSize: 'eight', mode: 'turbo' }));
    const { code, err } = cli('serve', '--no-build', '--config', join(dir, 'wrong.json'), '--run-dir', join(dir, 'never'));
    expect(code).toBe(2);
    expect(err).toMatch(/config file .*wrong\.json: /);
    for (const field of ['rounds: Too small', 'batchSize: Invalid input', 'mode: Invalid option']) expect(err).toContain(field);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a port in use says so and what to do, and leaves no run directory behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const runDir = join(dir, 'port-taken');
      const { code, err } = cli('serve', '--no-build', '--local', '--port', String(port), '--run-dir', runDir);
      expect(code).toBe(1);
      expect(err).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use by another program: pass --port N \\(or --port 0 for any free port\\)`));
      expect(existsSync(runDir)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('npm start serves the network over https by default, and --local this computer only', async () => {
    // The banner of a real start, read until the join line; the server is then stopped.
    const banner = (...args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/main.ts'), 'serve', '--no-build', '--port', '0', ...args], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'warn' } });
        let err = '';
        const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no banner in 60 s: ${err}`))), 60_000);
        child.stderr.on('data', (chunk) => {
          err += String(chunk);
          if (/who joins: .*\n/.test(err)) {
            clearTimeout(timer);
            child.kill('SIGTERM');
            resolve(err);
          }
        });
      });
    const lan = lanAddress();
    const byDefault = await banner('--run-dir', join(dir, 'reach-default'));
    if (lan) {
      expect(byDefault).toMatch(new RegExp(`join: +https://${lan.replace(/\./g, '\\.')}:\\d+/\\?code=`));
      expect(byDefault).toMatch(/who joins: phones on this network can join; the certificate is self-signed.*npm start -- --local/);
    } else {
      expect(byDefault).toMatch(/join: +http:\/\/localhost:\d+/);
      expect(byDefault).toMatch(/who joins: this computer has no network address/);
    }
    const local = await banner('--local', '--run-dir', join(dir, 'reach-local'));
    expect(local).toMatch(/join: +http:\/\/localhost:\d+\/\?code=/);
    expect(local).toMatch(/who joins: this computer only \(--local\)/);
    const clash = cli('serve', '--no-build', '--local', '--https', '--run-dir', join(dir, 'reach-clash'));
    expect(clash.code).toBe(2);
    expect(clash.err).toMatch(/--local serves this computer only, over http on 127\.0\.0\.1; it cannot go with --https/);
    expect(existsSync(join(dir, 'reach-clash'))).toBe(false);
  });

  it('an experiment run again into the same folder reuses its finished runs and gives the same table', () => {
    const out = join(dir, 'experiment');
    // seed 2, not the preset's: the saved run holds the seed simulate was given
    const first = cli('experiment', '--preset', 'smoke', '--policies', 'fedavg-32', '--seeds', '2', '--out', out, '--json');
    expect(first.code, first.err).toBe(0);
    const again = cli('experiment', '--preset', 'smoke', '--policies', 'fedavg-32', '--seeds', '2', '--out', out, '--json');
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/reusing the finished run in .*fedavg-32-seed2/);
    const figures = (text: string) => {
      const { policies } = JSON.parse(text.trim().split('\n').at(-1)!) as { policies: Record<string, { energyJ: number; fid: number; uplinkBytes: number }> };
      const r = policies['fedavg-32'];
      return [r.energyJ, r.fid, r.uplinkBytes];
    };
    expect(figures(again.out)).toEqual(figures(first.out));
  }, 180_000);
});
