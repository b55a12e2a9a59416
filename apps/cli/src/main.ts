// fedbit's command line: `serve` (npm start), `simulate` (npm run simulate), `experiment`.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, REPO_ROOT, loadConfigFile, resolveRunConfig, startServer, type RunConfigInput } from '@fedbit/server';
import { DeviceProfilesSchema } from '@fedbit/client';
import { describeZodError } from '@fedbit/core';
import { UsageError, parseFlags } from './args';
import { POLICY_NAMES, policyFromName } from './policies';
import { runSimulation } from './simulate';
import { formatSimulationSummary, simulationJson } from './report';

const USAGE = `usage:
  npm start -- [--port 8080] [--bind ADDR] [--join-code CODE] [--admin-token-file FILE] [--run-dir DIR]
               [--config FILE] [--resume DIR] [--https | --cert FILE --key FILE] [--allow-origin URL,...] [--no-build]
     env: FEDBIT_PORT, FEDBIT_JOIN_CODE, FEDBIT_ADMIN_TOKEN (not --admin-token: a flag shows in ps), FEDBIT_RUN_DIR, FEDBIT_CONFIG
  npm run simulate -- [--devices 10] [--rounds 5] [--policy on-demand] [--seed 1] [--local-steps N]
               [--config FILE] [--profiles FILE] [--url URL --join-code CODE] [--run-dir DIR] [--no-shaping] [--link-rates profile|measured] [--json]
  npm run simulate -- --preset classroom-stress|paper-modes [--minutes 3] [--modes sync-fixed,sync-budget,async] [--seed 1] [--json]
  npm run experiment -- --preset smoke|paper|robust|privacy [--parallel 2] [--json]`;

const int = z.coerce.number().int();

function readAdminTokenFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`--admin-token-file ${path}: no such file; write the token (16 characters or more) into it`);
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 16 || /\s/.test(token)) throw new UsageError(`--admin-token-file ${path}: expected one token of at least 16 characters without spaces`);
  return token;
}

async function serve(argv: string[]): Promise<void> {
  const env = process.env;
  const flags = parseFlags(
    argv,
    {
      port: { type: 'string', default: env.FEDBIT_PORT },
      bind: { type: 'string' },
      'join-code': { type: 'string', default: env.FEDBIT_JOIN_CODE },
      'admin-token': { type: 'string', default: env.FEDBIT_ADMIN_TOKEN },
      'admin-token-file': { type: 'string', default: env.FEDBIT_ADMIN_TOKEN_FILE },
      'allow-origin': { type: 'string' },
      'run-dir': { type: 'string', default: env.FEDBIT_RUN_DIR },
      config: { type: 'string', default: env.FEDBIT_CONFIG },
      resume: { type: 'string' },
      https: { type: 'boolean', default: false },
      cert: { type: 'string' },
      key: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
    },
    z.object({
      port: int.min(0).max(65535).default(8080),
      bind: z.string().optional(),
      'join-code': z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'letters, digits, _ or -, 4 to 64 long').optional(),
      'admin-token': z.string().min(16, 'at least 16 characters').optional(),
      'admin-token-file': z.string().optional(),
      'allow-origin': z
        .string()
        .transform((list) => list.split(',').map((o) => o.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://host:port, without a path')))
        .optional(),
      'run-dir': z.string().optional(),
      config: z.string().optional(),
      resume: z.string().optional(),
      https: z.boolean(),
      cert: z.string().optional(),
      key: z.string().optional(),
      'no-build': z.boolean(),
    }),
  );
  if (Boolean(flags.cert) !== Boolean(flags.key)) throw new UsageError('--cert and --key go together: give both PEM files, or --https for a self-signed certificate');
  if (flags.resume && flags.config) throw new UsageError('--resume continues a run with the config in its directory; --config cannot be given with it');
  if (argv.some((arg) => arg === '--admin-token' || arg.startsWith('--admin-token='))) {
    process.stderr.write('warning: --admin-token on the command line is visible to every user of this machine (ps); prefer FEDBIT_ADMIN_TOKEN or --admin-token-file\n');
  }
  if (flags['admin-token'] && flags['admin-token-file']) throw new UsageError('--admin-token and --admin-token-file are two ways to give one token: give one');
  const adminToken = flags['admin-token-file'] ? readAdminTokenFile(flags['admin-token-file']) : flags['admin-token'];
  if (!flags['no-build']) await buildWebIfStale();
  const tls = flags.cert && flags.key ? { cert: readFileSync(flags.cert, 'utf8'), key: readFileSync(flags.key, 'utf8') } : flags.https ? ('self-signed' as const) : undefined;
  const server = await startServer({
    port: flags.port,
    bind: flags.bind,
    joinCode: flags['join-code'],
    adminToken,
    runDir: flags['run-dir'],
    admission: flags['allow-origin'] ? { allowedOrigins: flags['allow-origin'] } : undefined,
    resume: flags.resume,
    // No config: the classroom preset (async rounds, time-budgeted work; packages/server/src/config.ts).
    config: flags.config ? loadConfigFile(flags.config) : flags.resume ? undefined : resolveRunConfig({ preset: 'classroom' }, 'the classroom preset'),
    tls,
  });
  const c = server.coordinator;
  process.stderr.write(
    [
      '',
      `fedbit aggregator: run ${c.runId}, round ${c.completed}/${c.config.rounds}, ${c.config.model.size} model (${server.host.paramCount} parameters), policy ${c.config.policy.kind}, ${c.config.mode === 'async' ? `async rounds (a new version every ${c.config.async.buffer} updates)` : 'synchronous rounds'}, ${c.config.localWork === 'budget' ? 'time-budgeted local work' : `${c.config.localSteps} local steps`}`,
      `  join:      ${server.joinUrl}`,
      `  dashboard: ${server.dashboardUrl}   (admin token in ${server.adminTokenPath})`,
      `  run dir:   ${server.runDir}   (continue after a crash: npm start -- --resume ${server.runDir})`,
      tls === 'self-signed' ? '  https with a self-signed certificate: phones show a warning once; see README "Joining from phones"' : '',
      '',
    ]
      .filter((line, i, all) => line || i === 0 || i === all.length - 1)
      .join('\n') + '\n',
  );
  const shutdown = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** `npm start` builds the web app when dist/web is missing or older than its sources. */
async function buildWebIfStale(): Promise<void> {
  const index = join(REPO_ROOT, 'dist/web/index.html');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
      const path = join(dir, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  const sources = [join(REPO_ROOT, 'apps/web'), join(REPO_ROOT, 'packages/client/src'), join(REPO_ROOT, 'packages/core/src'), join(REPO_ROOT, 'packages/diffusion/src')].filter(existsSync);
  if (!existsSync(join(REPO_ROOT, 'apps/web/index.html'))) return;
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  process.stderr.write('building the web app (vite build)...\n');
  const { build } = await import('vite');
  await build({ configFile: join(REPO_ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

async function simulate(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      devices: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '5' },
      policy: { type: 'string', default: 'on-demand' },
      seed: { type: 'string', default: '1' },
      'local-steps': { type: 'string' },
      config: { type: 'string' },
      profiles: { type: 'string' },
      url: { type: 'string' },
      'join-code': { type: 'string' },
      'run-dir': { type: 'string' },
      'no-shaping': { type: 'boolean', default: false },
      'link-rates': { type: 'string', default: 'profile' },
      json: { type: 'boolean', default: false },
      preset: { type: 'string' },
      minutes: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'sync-fixed,sync-budget,async' },
    },
    z.object({
      devices: int.min(1).max(1000),
      rounds: int.min(1).max(100_000),
      policy: z.enum(POLICY_NAMES),
      seed: int.min(0),
      'local-steps': int.min(1).optional(),
      config: z.string().optional(),
      profiles: z.string().optional(),
      url: z.string().url().optional(),
      'join-code': z.string().optional(),
      'run-dir': z.string().optional(),
      'no-shaping': z.boolean(),
      'link-rates': z.enum(['profile', 'measured'], { message: 'expected profile (uploads report the profile rate: reproducible) or measured (the time they took here)' }),
      json: z.boolean(),
      preset: z.enum(['classroom-stress', 'paper-modes']).optional(),
      minutes: int.min(1).max(120),
      modes: z
        .string()
        .transform((v) => v.split(','))
        .pipe(z.array(z.enum(['sync-fixed', 'sync-budget', 'async'])).min(1)),
    }),
  );
  if (flags.preset) {
    const { ROOMS, formatStress, runStress } = await import('./stress');
    const room = ROOMS[flags.preset];
    const results = await runStress({ room, minutes: flags.minutes, seed: flags.seed, modes: flags.modes, onProgress: (line) => process.stderr.write(line + '\n') });
    const churn = room.churn > 0 ? `, ${room.churn * 100}% joining late, ${room.churn * 100}% leaving mid-task` : '';
    process.stdout.write(`${room.name}: ${room.devices} devices, step times spread over 10x${churn}; ${flags.minutes} min per mode (J* = modelled joules)\n`);
    process.stdout.write(formatStress(results, room.quality) + '\n');
    if (flags.json) process.stdout.write(JSON.stringify({ modes: results }) + '\n');
    return;
  }
  const fileConfig = flags.config ? (JSON.parse(readFileSync(flags.config, 'utf8')) as RunConfigInput) : {};
  if (flags.config) resolveRunConfig(fileConfig, `config file ${flags.config}`);
  let profiles;
  if (flags.profiles) {
    const parsed = DeviceProfilesSchema.safeParse(JSON.parse(readFileSync(flags.profiles, 'utf8')));
    if (!parsed.success) throw new UsageError(`--profiles ${flags.profiles}: ${describeZodError(parsed.error).reason}`);
    profiles = parsed.data;
  }
  const result = await runSimulation({
    devices: flags.devices,
    rounds: flags.rounds,
    seed: flags.seed,
    profiles,
    url: flags.url,
    joinCode: flags['join-code'],
    runDir: flags['run-dir'],
    shaping: !flags['no-shaping'],
    linkRates: flags['link-rates'],
    progress: !flags.json && process.stderr.isTTY,
    config: {
      ...fileConfig,
      policy: fileConfig.policy ?? policyFromName(flags.policy),
      ...(flags['local-steps'] ? { localSteps: flags['local-steps'] } : {}),
    },
  });
  process.stdout.write(formatSimulationSummary(result) + '\n');
  if (flags.json) process.stdout.write(JSON.stringify(simulationJson(result)) + '\n');
}

async function main(): Promise<void> {
  const [command, ...argv] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve(argv);
    case 'simulate':
      return simulate(argv);
    case 'experiment': {
      const { experiment } = await import('./experiment');
      return experiment(argv);
    }
    default:
      throw new UsageError(`unknown command "${command ?? ''}"`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`error: ${error.message}\n${error instanceof UsageError ? USAGE + '\n' : ''}`);
    process.exit(2);
  }
  if (error instanceof z.ZodError) {
    process.stderr.write(`error: ${describeZodError(error).reason}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(1);
});
