// The processes of a cluster on loopback, for bench:cluster and test/cluster.test.ts: a redis-server
// of its own on a free port (no persistence: it lives as long as the run), and aggregator nodes,
// each `npm start -- --redis URL --node-id N` in a child process that can be killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '@fedbit/server';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server (scripts/ensure-redis.mjs installs it) on a free loopback port. */
export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${out.slice(-400)}`)), 10_000);
    child.once('error', (error) => reject(new Error(`cannot run redis-server (${error.message}): node scripts/ensure-redis.mjs installs it`)));
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopProcess(child) };
}

export interface NodeProcess {
  nodeId: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** kill -9: no lease released, no goodbye. */
  kill(): void;
  stop(): Promise<void>;
}

export interface NodeSettings {
  redis: string;
  nodeId: string;
  configPath: string;
  joinCode: string;
  runDir: string;
  cluster?: string;
  logLevel?: string;
  /** The leader's lease (--lease-ms); default the CLI's. */
  leaseMs?: number;
  /** Append the node's log (and what it prints) to this file; default: discarded. */
  logFile?: string;
}

/** Starts one aggregator node as a child process; resolves with its URL once it listens. */
export async function startNode(settings: NodeSettings): Promise<NodeProcess> {
  const args = ['--import', 'tsx', join(REPO_ROOT, 'apps/cli/src/main.ts'), 'serve', '--local', '--port', '0', '--no-build'];
  args.push('--redis', settings.redis, '--node-id', settings.nodeId, '--config', settings.configPath, '--join-code', settings.joinCode, '--run-dir', settings.runDir);
  if (settings.cluster) args.push('--cluster', settings.cluster);
  if (settings.leaseMs) args.push('--lease-ms', String(settings.leaseMs));
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: settings.logLevel ?? 'warn' } });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`node ${settings.nodeId} did not start within 60 s: ${err.slice(-800)}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`node ${settings.nodeId} exited with ${code}: ${err.slice(-800)}`)));
    child.stderr.on('data', (data: Buffer) => {
      err += data.toString();
      const match = /join:\s+(http:\/\/[^/\s]+)\//.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  // Keep draining its output so a chatty node never blocks on a full pipe.
  if (settings.logFile) {
    const log = createWriteStream(settings.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  return { nodeId: settings.nodeId, url, pid: child.pid!, child, kill: () => child.kill('SIGKILL'), stop: () => stopProcess(child) };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
