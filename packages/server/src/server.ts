// Assembles the aggregator: one HTTP(S) port serving the web app, the JSON API and Socket.IO,
// a run directory, and the round loop. `startServer` is what `npm start` and the tests call.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { pino, type Logger } from 'pino';
import { cutFrameBytes, frameBytes } from '@fedbit/core';
import { splitPlan } from '@fedbit/diffusion';
import { Server as SocketServer } from 'socket.io';
import { ConfigError, resolveRunConfig, type ConfigPatch, type RunConfig } from './config';
import { createHttpHandler, readTextIfExists } from './http';
import { ServerMetrics } from './metrics';
import { ModelHost } from './model-host';
import { DEFAULT_RATE_LIMIT, MESSAGE_HEADROOM_BYTES, PING_INTERVAL_MS, PING_TIMEOUT_MS } from './constants';
import { Coordinator } from './round/coordinator';
import { ddgPlanOf } from './round/run-secure-round';
import { Admission, DEFAULT_ADMISSION, type AdmissionLimits } from './transport/admission';
import { attachSockets, socketTransport } from './transport/socket-io';
import { RunStore } from './store';
import { lanAddress, selfSignedCertificate } from './tls';
import { loadMergeKernel, type MergeKernelChoice } from './merge/index';
import { clusterConfigProblem } from './cluster/config-fit';
import { ClusterNode, type ClusterOptions } from './cluster/node';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServerOptions {
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Address to bind. Default 127.0.0.1 over http, 0.0.0.0 over https (phones join over the LAN). */
  bind?: string;
  joinCode?: string;
  adminToken?: string;
  /** Default ./runs/<run-id>. */
  runDir?: string;
  /** Continue the run in this directory from its last completed round. */
  resume?: string;
  config?: RunConfig;
  /** A certificate and key (PEM), or 'self-signed'. Absent: plain http. */
  tls?: { cert: string; key: string } | 'self-signed';
  /** Built web app to serve; null serves none. Default dist/web when it exists. */
  webRoot?: string | null;
  logger?: Logger;
  rateLimit?: { perSecond: number; burst: number; disconnectAfterStrikes: number };
  /** Who may connect and what a connection may send before it joins; defaults in transport/admission.ts. */
  admission?: Partial<AdmissionLimits>;
  /** The merge kernel: 'auto' (WebAssembly SIMD, JavaScript where it cannot run), 'wasm' or 'js'. Default FEDBIT_MERGE_KERNEL, else 'auto'. */
  mergeKernel?: MergeKernelChoice;
  /** Join a cluster of aggregator nodes sharing this Redis (docs/SCALE.md, section 3). Absent: one process, no Redis. */
  cluster?: ClusterOptions;
}

export interface RunningServer {
  url: string;
  joinUrl: string;
  dashboardUrl: string;
  port: number;
  runDir: string;
  adminToken: string;
  adminTokenPath: string;
  joinCode: string;
  coordinator: Coordinator;
  host: ModelHost;
  io: SocketServer;
  /** The merge kernel in use: 'wasm-simd' or 'js'. */
  mergeKernel: string;
  /** This node of a cluster, or null for one process. */
  cluster: ClusterNode | null;
  close(): Promise<void>;
}

function parseKernelChoice(value: string | undefined): MergeKernelChoice {
  if (value === undefined || value === '') return 'auto';
  if (value === 'auto' || value === 'wasm' || value === 'js') return value;
  throw new Error(`FEDBIT_MERGE_KERNEL=${value.slice(0, 40)} is not a merge kernel; expected auto, wasm or js`);
}

function defaultRunId(): string {
  return `run-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
}

function secretFile(path: string, given: string | undefined, make: () => string): string {
  const existing = readTextIfExists(path);
  const value = given ?? existing ?? make();
  if (value !== existing) writeFileSync(path, value + '\n', { mode: 0o600 });
  return value;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });

  // The run: a new one, or the one in --resume's directory.
  let config: RunConfig;
  let store: RunStore;
  let checkpoint = null;
  let runDir: string;
  let createdRunDir = false;
  let cluster: ClusterNode | null = null;
  if (options.cluster) {
    // A cluster's run lives in Redis: its config (the first node's), its last committed version.
    if (options.resume) throw new Error('--resume continues a run from its directory; a cluster node resumes from Redis: drop --resume');
    cluster = await ClusterNode.connect(options.cluster, log);
    try {
      const mine = options.config ?? resolveRunConfig({});
      const shared = await cluster.store.sharedConfig(JSON.stringify({ ...mine, runId: mine.runId ?? options.cluster.name ?? 'fedbit' }));
      config = resolveRunConfig(JSON.parse(shared) as unknown, `the cluster's config in Redis (${cluster.store.key('config')})`);
      const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
      if (options.config && !isDeepStrictEqual(plain({ ...options.config, runId: config.runId }), plain(config))) {
        throw new Error(`this node's config differs from the cluster's, which the first node wrote to Redis (${cluster.store.key('config')}): start it with the same --config, or with none to take the cluster's`);
      }
      const problem = clusterConfigProblem(config);
      if (problem) throw new Error(problem);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    runDir = resolve(options.runDir ?? join('runs', `${config.runId}-${options.cluster.nodeId}`));
    createdRunDir = !existsSync(runDir);
    // Redis holds the committed state; the run directory keeps the checkpoints this node wrote as leader.
    store = existsSync(join(runDir, 'checkpoint.bin')) ? RunStore.open(runDir).store : RunStore.create(runDir, config);
  } else if (options.resume) {
    runDir = resolve(options.resume);
    const opened = RunStore.open(runDir);
    config = resolveRunConfig(opened.config, `${runDir}/config.json`);
    store = opened.store;
    checkpoint = opened.checkpoint;
    log.info({ runDir, round: checkpoint?.state.round ?? 0 }, 'resuming run');
  } else {
    config = options.config ?? resolveRunConfig({});
    config = { ...config, runId: config.runId ?? defaultRunId() };
    runDir = resolve(options.runDir ?? join('runs', config.runId!));
    createdRunDir = !existsSync(runDir);
    store = RunStore.create(runDir, config);
  }
  mkdirSync(runDir, { recursive: true });
  const adminTokenPath = join(runDir, 'admin-token');
  const adminToken = secretFile(adminTokenPath, options.adminToken, () => randomBytes(24).toString('base64url'));
  const joinCode = secretFile(join(runDir, 'join-code'), options.joinCode, () => randomBytes(4).toString('hex'));

  const host = await ModelHost.create(config);
  if (config.secureAggregation && config.privacy) {
    // The distributed noise's modulus depends on the model's size: refuse now, not at the first round.
    try {
      ddgPlanOf(config.privacy, host.paramCount, config.devicesPerRound, Math.max(config.quorum, 2), 0);
    } catch (error) {
      host.dispose();
      throw new ConfigError(`privacy with secureAggregation: ${(error as Error).message} (the model has ${host.paramCount} parameters)`, 'privacy');
    }
  }
  if (cluster) checkpoint = (await cluster.store.committed(host.paramCount))?.checkpoint ?? null;
  // A LoRA run's "before": the base alone, drawn once into the run directory (samples.png is the "after").
  if (host.lora && !checkpoint) store.writeFile('samples-base.png', await host.baseSamplesPng());
  const kernelChoice = options.mergeKernel ?? parseKernelChoice(process.env.FEDBIT_MERGE_KERNEL);
  const mergeKernel = await loadMergeKernel(kernelChoice, (reason) => log.warn(reason));
  const metrics = new ServerMetrics();
  const tls = options.tls === 'self-signed' ? selfSignedCertificate(join(REPO_ROOT, '.cache', 'tls'), lanAddress() ?? 'localhost') : options.tls;
  const bind = options.bind ?? (tls ? '0.0.0.0' : '127.0.0.1');
  const webRoot = options.webRoot === undefined ? (existsSync(join(REPO_ROOT, 'dist/web/index.html')) ? join(REPO_ROOT, 'dist/web') : null) : options.webRoot;
  let wasmDir: string | null = null;
  try {
    wasmDir = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    wasmDir = null;
  }

  let joinUrl = '';
  const httpServer: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }) : createHttpServer();
  const admission = new Admission({ ...DEFAULT_ADMISSION, ...options.admission });
  const io = new SocketServer(httpServer, {
    allowRequest: admission.allowRequest,
    // The largest message a device may send is one 32-bit frame of the whole model (in a LoRA run
    // too: a full-model frame then reaches the round and is refused with a code, not a dropped
    // connection; in split mode, one step's activations if larger), plus headroom.
    maxHttpBufferSize: Math.max(frameBytes(32, host.modelParamCount, config.codec.blockSize), splitFrameBytes(config, host)) + MESSAGE_HEADROOM_BYTES,
    pingInterval: PING_INTERVAL_MS,
    pingTimeout: PING_TIMEOUT_MS,
    serveClient: false,
  });
  // Outgoing transport first, then the engine with it, then the incoming adapter that calls the engine.
  cluster?.installAdapter(io);
  const coordinator = new Coordinator({ config, store, host, log, metrics, transport: socketTransport(io, { devicesHere: Boolean(cluster) }), resumeFrom: checkpoint, mergeKernel, cluster: cluster ?? undefined });
  if (cluster && checkpoint) coordinator.adopt(checkpoint, (await cluster.store.committed(host.paramCount))?.summaries ?? []);
  admission.attach(io);
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (cluster) {
    const node = cluster;
    attachSockets(io, { coordinator, devices: node.port, joinCode, log, metrics, admission, rateLimit, broadcastsStatus: () => node.isLeader, status: () => node.status() });
  } else {
    attachSockets(io, { coordinator, devices: coordinator.deviceApi, joinCode, log, metrics, admission, rateLimit });
  }
  const clusterHttp = cluster ? { control: (action: 'start' | 'pause' | 'stop') => cluster!.control(action), patchConfig: (patch: ConfigPatch) => cluster!.patchConfig(patch), status: () => cluster!.status() } : {};
  httpServer.on('request', createHttpHandler({ coordinator, host, metrics, log, adminToken, webRoot, wasmDir, joinUrl: () => joinUrl, runDir, ...clusterHttp }));

  const requestedPort = options.port ?? 8080;
  try {
    await new Promise<void>((resolveListen, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(requestedPort, bind, () => resolveListen());
    });
  } catch (error) {
    // A start that failed leaves nothing behind: no half-made run directory, no engine.
    await coordinator.stop();
    await cluster?.close();
    io.close();
    host.dispose();
    if (createdRunDir) rmSync(runDir, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${requestedPort} on ${bind} is in use by another program: pass --port N (or --port 0 for any free port), or stop the other program`);
    if (code === 'EACCES') throw new Error(`port ${requestedPort} on ${bind} needs privileges this user lacks: pick a port above 1023 with --port`);
    if (code === 'EADDRNOTAVAIL') throw new Error(`address ${bind} is not one of this machine's: pass --bind with one of its addresses, or 0.0.0.0`);
    throw error;
  }
  const port = (httpServer.address() as AddressInfo).port;
  const scheme = tls ? 'https' : 'http';
  const loopbackOnly = bind === '127.0.0.1' || bind === '::1' || bind === 'localhost';
  // A LAN address only where the server listens on one: `--https --bind 127.0.0.1` is reachable from this machine alone.
  const publicHost = loopbackOnly ? 'localhost' : tls && (bind === '0.0.0.0' || bind === '::') ? (lanAddress() ?? 'localhost') : bind === '0.0.0.0' || bind === '::' ? 'localhost' : bind;
  if (tls && loopbackOnly) log.warn({ bind }, 'https on a loopback address: phones cannot reach it; drop --bind (or use 0.0.0.0) to serve the LAN');
  const url = `${scheme}://${publicHost}:${port}`;
  joinUrl = `${url}/?code=${encodeURIComponent(joinCode)}`;

  if (cluster) await cluster.start(coordinator, mergeKernel);
  else coordinator.ensureLoop();
  log.info({ url, runDir, run: coordinator.runId, round: coordinator.completed, params: host.paramCount, mergeKernel: mergeKernel.name, ...(cluster ? { node: cluster.nodeId, leader: cluster.isLeader } : {}) }, 'aggregator listening');

  return {
    url,
    joinUrl,
    dashboardUrl: `${url}/dashboard`,
    port,
    runDir,
    adminToken,
    adminTokenPath,
    joinCode,
    coordinator,
    host,
    io,
    mergeKernel: mergeKernel.name,
    cluster,
    async close() {
      await coordinator.stop();
      await cluster?.close();
      await new Promise<void>((r) => io.close(() => r()));
      httpServer.closeAllConnections?.();
      await new Promise<void>((r) => httpServer.close(() => r()));
      host.dispose();
    },
  };
}

/** Split learning: the largest activation frame of one step (the whole batch, nothing dropped). */
function splitFrameBytes(config: RunConfig, host: ModelHost): number {
  if (!config.split) return 0;
  return cutFrameBytes(config.split.activationBits, config.batchSize * splitPlan(host.modelConfig, config.split.cut).crossingPerImage);
}
