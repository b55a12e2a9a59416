// fedbit's command line: `serve` (npm start), `simulate` (npm run simulate), `experiment`.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, REPO_ROOT, lanAddress, loadConfigFile, resolveRunConfig, startServer, type RunConfigInput } from '@fedbit/server';
import { DeviceProfilesSchema } from '@fedbit/client';
import { describeZodError } from '@fedbit/core';
import { UsageError, nameList, parseFlags, wholeNumber } from './args';
import { POLICY_NAMES, policyFromName } from './policies';
import { runSimulation } from './simulate';
import { ensureNodeWebGpu } from './node-gpu';
import { formatSimulationSummary, simulationJson } from './report';
import { chooseReach } from './reach';

const USAGE = `fedbit: federated training of a small quantized diffusion model in the browser

commands (each has --help with every flag, its default and examples):
  npm start -- [flags]                the aggregator and the web app (devices join at /, dashboard at /dashboard)
  npm run simulate -- [flags]         an aggregator and N headless devices over real Socket.IO
  npm run experiment -- --preset P    one simulation per policy or rule; tables and plots in results/P/
  npm run pretrain -- [flags]         pretrains the emoji base model for LoRA fine-tuning (public/models/emoji-base)
  npm run bench:codec|bench:train|bench:server -- [flags]`;

/** A JSON file named by a flag: a missing file or bad JSON says which file, which flag and what to do. */
function readJsonFile(path: string, flag: string): unknown {
  if (!existsSync(path)) throw new UsageError(`${flag} ${path}: no such file (from ${process.cwd()})`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${flag} ${path}: not valid JSON (${(error as Error).message})`);
  }
}

function readAdminTokenFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`--admin-token-file ${path}: no such file; write the token (16 characters or more) into it`);
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 16 || /\s/.test(token)) throw new UsageError(`--admin-token-file ${path}: expected one token of at least 16 characters without spaces`);
  return token;
}

async function serve(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      port: { type: 'string', default: '8080', placeholder: 'n', env: 'FEDBIT_PORT', description: 'port for the web app, the API and Socket.IO; 0 picks a free one' },
      local: { type: 'boolean', description: 'this computer only: plain http on 127.0.0.1, no certificate warning (default: https on every interface, so phones on the network can join)' },
      bind: { type: 'string', placeholder: 'address', description: 'address to listen on (default 0.0.0.0; 127.0.0.1 with --local)' },
      'join-code': { type: 'string', placeholder: 'code', env: 'FEDBIT_JOIN_CODE', description: 'the code devices join with (default: a random one, kept in the run directory)' },
      'admin-token': { type: 'string', placeholder: 'token', env: 'FEDBIT_ADMIN_TOKEN', description: 'the dashboard token; on the command line it shows in ps, prefer the env or --admin-token-file' },
      'admin-token-file': { type: 'string', placeholder: 'file', env: 'FEDBIT_ADMIN_TOKEN_FILE', description: 'read the admin token from this file' },
      'allow-origin': { type: 'string', placeholder: 'url,...', description: 'web origins besides the aggregator itself that may connect (e.g. a dev server)' },
      'run-dir': { type: 'string', placeholder: 'dir', env: 'FEDBIT_RUN_DIR', description: 'where the run is kept (default ./runs/<run-id>)' },
      config: { type: 'string', placeholder: 'file', env: 'FEDBIT_CONFIG', description: 'run config JSON (default: the classroom preset); see packages/server/src/config.ts' },
      resume: { type: 'string', placeholder: 'dir', description: 'continue the run in this directory from its last completed round' },
      https: { type: 'boolean', description: 'https with a self-signed certificate, kept in .cache/tls/ (the default when this computer has a network address; with --bind it keeps https)' },
      cert: { type: 'string', placeholder: 'file', description: 'TLS certificate (PEM), with --key' },
      key: { type: 'string', placeholder: 'file', description: 'TLS private key (PEM), with --cert' },
      'no-build': { type: 'boolean', description: 'do not rebuild the web app when its sources are newer' },
      redis: { type: 'string', placeholder: 'url', env: 'FEDBIT_REDIS', description: 'join a cluster of aggregator nodes sharing this Redis, e.g. redis://127.0.0.1:6379 (docs/SCALE.md); with --node-id' },
      'node-id': { type: 'string', placeholder: 'id', env: 'FEDBIT_NODE_ID', description: "this node's name in the cluster, unique among its nodes" },
      cluster: { type: 'string', placeholder: 'name', env: 'FEDBIT_CLUSTER', description: 'which cluster on that Redis (default fedbit): its keys are fedbit:<name>:...' },
      'lease-ms': { type: 'string', default: '5000', placeholder: 'ms', env: 'FEDBIT_LEASE_MS', description: "the leader's lease: a dead leader is replaced this long after it last renewed it; longer on a machine too busy to renew in time" },
    },
    z.object({
      port: wholeNumber(0, 65535),
      local: z.boolean(),
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
      redis: z.string().regex(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379').optional(),
      'node-id': z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, 1 to 64 long').optional(),
      cluster: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, 1 to 64 long').optional(),
      'lease-ms': wholeNumber(300, 60000),
    }),
    {
      usage: 'npm start --',
      summary: 'the aggregator and the web app on one port: devices join at /, the dashboard is at /dashboard',
      examples: ['npm start', 'npm start -- --local', 'npm start -- --port 9000 --config my-run.json', 'npm start -- --resume runs/run-20261122-140000', 'npm start -- --local --port 8081 --config sync-run.json --redis redis://127.0.0.1:6379 --node-id a'],
    },
  );
  if (!flags) return;
  if (Boolean(flags.cert) !== Boolean(flags.key)) throw new UsageError('--cert and --key go together: give both PEM files, or --https for a self-signed certificate');
  if (flags.resume && flags.config) throw new UsageError('--resume continues a run with the config in its directory; --config cannot be given with it');
  if (Boolean(flags.redis) !== Boolean(flags['node-id'])) throw new UsageError('--redis and --node-id go together: a cluster node needs the Redis its nodes share and its own name among them');
  if (flags.cluster && !flags.redis) throw new UsageError('--cluster names a cluster on a Redis: give --redis and --node-id too');
  if (flags.redis && flags.resume) throw new UsageError('--resume continues a run from its directory; a cluster node resumes from Redis: drop --resume');
  if (argv.some((arg) => arg === '--admin-token' || arg.startsWith('--admin-token='))) {
    process.stderr.write('warning: --admin-token on the command line is visible to every user of this machine (ps); prefer FEDBIT_ADMIN_TOKEN or --admin-token-file\n');
  }
  if (flags['admin-token'] && flags['admin-token-file']) throw new UsageError('--admin-token and --admin-token-file are two ways to give one token: give one');
  const adminToken = flags['admin-token-file'] ? readAdminTokenFile(flags['admin-token-file']) : flags['admin-token'];
  if (!flags['no-build']) await buildWebIfStale();
  const certificate = flags.cert && flags.key ? { cert: readFileSync(flags.cert, 'utf8'), key: readFileSync(flags.key, 'utf8') } : undefined;
  const reach = chooseReach({ local: flags.local, https: flags.https, bind: flags.bind, certificate }, lanAddress());
  const server = await startServer({
    port: flags.port,
    bind: reach.bind,
    joinCode: flags['join-code'],
    adminToken,
    runDir: flags['run-dir'],
    admission: flags['allow-origin'] ? { allowedOrigins: flags['allow-origin'] } : undefined,
    resume: flags.resume,
    // No config: the classroom preset (async rounds, time-budgeted work; packages/server/src/config.ts).
    // A cluster node without --config takes the cluster's (the first node's); the classroom preset's async rounds do not run on a cluster.
    config: flags.config ? loadConfigFile(flags.config) : flags.resume || flags.redis ? undefined : resolveRunConfig({ preset: 'classroom' }, 'the classroom preset'),
    tls: reach.tls,
    cluster: flags.redis && flags['node-id'] ? { redis: flags.redis, nodeId: flags['node-id'], name: flags.cluster, leaseMs: flags['lease-ms'] } : undefined,
  });
  const c = server.coordinator;
  const lora = server.host.lora;
  const model = lora
    ? `LoRA fine-tuning (${lora.method}, rank ${lora.rank}) of base '${lora.base.name}': ${lora.trainableLength} adapter parameters of the ${c.config.model.size} model's ${server.host.modelParamCount}`
    : `${c.config.model.size} model (${server.host.paramCount} parameters)`;
  process.stderr.write(
    [
      '',
      `fedbit aggregator: run ${c.runId}, round ${c.completed}/${c.config.rounds}, ${model}, policy ${c.config.policy.kind}, ${c.config.mode === 'async' ? `async rounds (a new version every ${c.config.async.buffer} updates)` : 'synchronous rounds'}, ${c.config.localWork === 'budget' ? 'time-budgeted local work' : `${c.config.localSteps} local steps`}`,
      `  join:      ${server.joinUrl}`,
      `  dashboard: ${server.dashboardUrl}   (admin token in ${server.adminTokenPath})`,
      server.cluster
        ? `  cluster:   node ${server.cluster.nodeId}${server.cluster.isLeader ? ', leading' : `, following ${server.cluster.leader?.nodeId ?? '(no leader yet)'}`}; run dir ${server.runDir} (the committed state is in Redis)`
        : `  run dir:   ${server.runDir}   (continue after a crash: npm start -- --resume ${server.runDir})`,
      `  who joins: ${reach.note}`,
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
      devices: { type: 'string', default: '10', placeholder: 'n', description: 'simulated devices, each with a seeded profile (class, battery, link)' },
      rounds: { type: 'string', default: '5', placeholder: 'n', description: 'rounds to train' },
      policy: { type: 'string', default: 'on-demand', placeholder: 'name', description: `precision policy: ${POLICY_NAMES.join(', ')}` },
      seed: { type: 'string', default: '1', placeholder: 'n', description: 'seed of the fleet, the data split and the run: same seed, same figures' },
      'local-steps': { type: 'string', placeholder: 'n', description: 'local training steps per round (default: the config\'s)' },
      config: { type: 'string', placeholder: 'file', description: 'run config JSON; the flags above override it' },
      profiles: { type: 'string', placeholder: 'file', description: 'device profiles JSON instead of the seeded fleet' },
      url: { type: 'string', placeholder: 'url', description: 'join this aggregator instead of starting one (with --join-code)' },
      'join-code': { type: 'string', placeholder: 'code', description: 'the join code of --url' },
      'run-dir': { type: 'string', placeholder: 'dir', description: 'where the in-process aggregator keeps the run' },
      'no-shaping': { type: 'boolean', description: 'upload at loopback speed instead of each profile\'s link rate' },
      'link-rates': { type: 'string', default: 'profile', placeholder: 'profile|measured', description: 'what uploads report: the profile rate (reproducible) or the time they took here' },
      backend: { type: 'string', default: 'wasm', placeholder: 'wasm|webgpu|cpu', description: 'tfjs backend of every simulated device (webgpu: the optional npm package webgpu, on this machine\'s GPU or SwiftShader)' },
      json: { type: 'boolean', description: 'end with one JSON line of the results' },
      preset: { type: 'string', placeholder: 'room', description: 'a stress room instead: classroom-stress or paper-modes' },
      minutes: { type: 'string', default: '3', placeholder: 'n', description: 'with --preset: minutes per round mode' },
      modes: { type: 'string', default: 'sync-fixed,sync-budget,async', placeholder: 'list', description: 'with --preset: round modes to run' },
    },
    z.object({
      devices: wholeNumber(1, 1000),
      rounds: wholeNumber(1, 100_000),
      policy: z.enum(POLICY_NAMES, { message: `expected one of ${POLICY_NAMES.join(', ')}` }),
      seed: wholeNumber(0, 2 ** 31 - 1),
      'local-steps': wholeNumber(1, 100_000).optional(),
      config: z.string().optional(),
      profiles: z.string().optional(),
      url: z.string().url('expected a URL such as http://localhost:8080').optional(),
      'join-code': z.string().optional(),
      'run-dir': z.string().optional(),
      'no-shaping': z.boolean(),
      'link-rates': z.enum(['profile', 'measured'], { message: 'expected profile (uploads report the profile rate: reproducible) or measured (the time they took here)' }),
      backend: z.enum(['wasm', 'webgpu', 'cpu'], { message: 'expected wasm, webgpu or cpu' }),
      json: z.boolean(),
      preset: z.enum(['classroom-stress', 'paper-modes'], { message: 'expected classroom-stress or paper-modes' }).optional(),
      minutes: wholeNumber(1, 120),
      modes: nameList(['sync-fixed', 'sync-budget', 'async']),
    }),
    {
      usage: 'npm run simulate --',
      summary: 'an aggregator and N headless devices over real Socket.IO on loopback, with a summary table',
      examples: [
        'npm run simulate -- --devices 10 --rounds 5',
        'npm run simulate -- --policy fixed-4 --json',
        'npm run simulate -- --devices 2 --rounds 1 --backend webgpu',
        'npm run simulate -- --preset classroom-stress --minutes 3',
      ],
    },
  );
  if (!flags) return;
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
  if (flags.backend === 'webgpu') await ensureNodeWebGpu((line) => process.stderr.write(line + '\n'));
  const fileConfig = flags.config ? (readJsonFile(flags.config, '--config') as RunConfigInput) : {};
  if (flags.config) resolveRunConfig(fileConfig, `config file ${flags.config}`);
  let profiles;
  if (flags.profiles) {
    const parsed = DeviceProfilesSchema.safeParse(readJsonFile(flags.profiles, '--profiles'));
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
    backend: flags.backend,
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
    case 'pretrain': {
      const { pretrain } = await import('./pretrain');
      return pretrain(argv);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new UsageError(`unknown command "${command}"; expected serve, simulate, experiment or pretrain`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigError) {
    const hint = error instanceof UsageError ? (error.helpCommand ? `see: ${error.helpCommand} --help\n` : USAGE + '\n') : '';
    process.stderr.write(`error: ${error.message}\n${hint}`);
    process.exit(2);
  }
  if (error instanceof z.ZodError) {
    process.stderr.write(`error: ${describeZodError(error).reason}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(1);
});
