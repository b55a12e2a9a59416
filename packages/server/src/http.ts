// The HTTP API beside Socket.IO on the same port: the built web app, dataset binaries for browser
// devices, the JSON API, the Prometheus endpoint, and the admin controls (Bearer token).
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import type { Logger } from 'pino';
import { BASE_PATH_PREFIX, DEVICE_PAGE_MAX, DevicePageQuerySchema, MODEL_PATH_PREFIX, describeZodError, type DevicePage } from '@fedbit/core';
import { datasetPath } from '@fedbit/datasets/node';
import { GRAPH_MODEL_FILE, isModelFile, type ModelFileName } from '@fedbit/diffusion';
import { z } from 'zod';
import { ConfigPatchSchema, type ConfigPatch } from './config';
import type { ModelHost } from './model-host';
import { serveBase, serveModelVersion } from './model-http';
import type { ServerMetrics } from './metrics';
import type { Coordinator } from './round/coordinator';
import { secretEquals } from './transport/rate-guard';
import { deviceStatus, statusOf } from './status';
import { roundsCsv } from './export';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.webmanifest': 'application/manifest+json',
};

const ControlSchema = z.object({ action: z.enum(['start', 'pause', 'stop']) }).strict();
const MAX_BODY_BYTES = 64 * 1024;

export interface HttpOptions {
  coordinator: Coordinator;
  host: ModelHost;
  metrics: ServerMetrics;
  log: Logger;
  adminToken: string;
  webRoot: string | null;
  wasmDir: string | null;
  joinUrl: () => string;
  runDir: string;
  /** A cluster node: start, pause and stop go to the cluster (recorded in Redis, acted on by the leader), not to this node's engine alone. */
  control?: (action: 'start' | 'pause' | 'stop') => Promise<{ ok: true; phase: string } | { ok: false; code: string; reason: string }>;
  /** A cluster node: a config patch goes to the cluster (checked and applied by the leader, recorded in Redis); a patch that does not fit is refused 'bad-value'. */
  patchConfig?: (patch: ConfigPatch) => Promise<{ ok: true; config: unknown } | { ok: false; code: string; reason: string }>;
  /** A cluster node: the cluster's view of the run (GET /api/status), in place of this node's own. */
  status?: () => Promise<unknown>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function sendFile(res: ServerResponse, path: string, cache = 'no-cache'): void {
  res.writeHead(200, {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': statSync(path).size,
    'cache-control': cache,
  });
  createReadStream(path).pipe(res);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
    throw new HttpError(415, 'expected a JSON body with content-type: application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error).reason);
  return parsed.data;
}

/** Serves a file under root, refusing paths that climb out of it. */
function staticFile(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new HttpError(400, `the path ${urlPath.slice(0, 200)} has malformed percent-encoding; expected %XX escapes of UTF-8 bytes`);
  }
  if (decoded.includes('\0')) throw new HttpError(400, 'the path contains a NUL byte');
  const path = normalize(join(root, decoded));
  if (!path.startsWith(resolve(root))) return null;
  return existsSync(path) && statSync(path).isFile() ? path : null;
}

/**
 * GET /api/model (the graph model's model.json) and /api/model/<file> for every published file.
 * /api/<file> serves them too, so the weight paths in a model.json fetched as /api/model resolve.
 */
function modelFileOf(path: string): ModelFileName | null {
  if (path === '/api/model') return GRAPH_MODEL_FILE;
  const name = path.startsWith('/api/model/') ? path.slice('/api/model/'.length) : path.slice('/api/'.length);
  return isModelFile(name) ? name : null;
}

export function createHttpHandler(options: HttpOptions) {
  const { coordinator, host, metrics, log } = options;

  function requireAdmin(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!secretEquals(options.adminToken, token)) {
      throw new HttpError(401, `admin token missing or wrong: send Authorization: Bearer <token> (the token is in ${join(options.runDir, 'admin-token')})`);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (method === 'GET' && path === '/api/status') return sendJson(res, 200, options.status ? await options.status() : statusOf(coordinator));
    if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true });
    if (method === 'GET' && path === '/api/rounds') {
      if (url.searchParams.get('format') === 'csv') {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${coordinator.runId}-rounds.csv"` });
        res.end(roundsCsv(coordinator.summaries));
        return;
      }
      return sendJson(res, 200, { run: coordinator.runId, rounds: coordinator.summaries });
    }
    if (path.startsWith(MODEL_PATH_PREFIX)) return serveModelVersion(req, res, path, coordinator.models);
    if (path.startsWith(BASE_PATH_PREFIX)) return serveBase(req, res, path, host.base);
    const modelFile = method === 'GET' ? modelFileOf(path) : null;
    if (modelFile) {
      const bytes = host.modelFile(modelFile, coordinator.samplingWeights);
      res.writeHead(200, {
        'content-type': TYPES[extname(modelFile)] ?? 'application/octet-stream',
        'content-length': bytes.byteLength,
        'content-disposition': `attachment; filename="${modelFile}"`,
        'cache-control': 'no-store',
      });
      res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    if (method === 'GET' && path === '/api/samples/base') {
      // A LoRA run's "before": the base alone.
      if (!host.lora) throw new HttpError(404, 'this run trains the full model: it has no base to draw (GET /api/samples draws the model)');
      const png = await host.baseSamplesPng();
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
      res.end(Buffer.from(png));
      return;
    }
    if (method === 'GET' && path === '/api/samples') {
      const labelText = url.searchParams.get('label');
      const label = labelText === null ? undefined : Number(labelText);
      let rendering: Promise<Uint8Array>;
      try {
        rendering = host.samplesPng(coordinator.samplingWeights, coordinator.completed, label);
      } catch (error) {
        throw new HttpError(400, `label=${labelText?.slice(0, 20)}: ${(error as Error).message}`);
      }
      const png = await rendering;
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
      res.end(Buffer.from(png));
      return;
    }
    if (method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return;
    }
    if (method === 'GET' && path === '/api/devices') {
      // Every device, a page at a time (a status lists at most STATUS_DEVICE_PAGE of them).
      requireAdmin(req);
      const keys = [...url.searchParams.keys()];
      const repeated = keys.find((key, i) => keys.indexOf(key) !== i);
      if (repeated) throw new HttpError(400, `${repeated} is given more than once; expected ?offset=<n>&limit=<n>, each at most once`);
      const query = DevicePageQuerySchema.safeParse(Object.fromEntries(url.searchParams));
      if (!query.success) throw new HttpError(400, `${describeZodError(query.error).reason}; expected ?offset=<n>&limit=<n>, both optional (limit 1 to ${DEVICE_PAGE_MAX})`);
      const { offset, limit } = query.data;
      const devices = coordinator.devices.page(offset, limit).map((d) => deviceStatus(coordinator, d));
      return sendJson(res, 200, { run: coordinator.runId, total: coordinator.devices.size, offset, limit, devices } satisfies DevicePage);
    }
    if (path === '/api/join') {
      requireAdmin(req);
      return sendJson(res, 200, { joinUrl: options.joinUrl() });
    }
    if (method === 'POST' && path === '/api/control') {
      requireAdmin(req);
      const { action } = parseBody(ControlSchema, await readJson(req));
      if (options.control) {
        const done = await options.control(action);
        if (!done.ok) throw new HttpError(503, done.reason);
        log.info({ action }, 'admin control');
        return sendJson(res, 200, { ok: true, phase: done.phase });
      }
      if (action === 'start') coordinator.start();
      else if (action === 'pause') coordinator.pause();
      else await coordinator.stop();
      log.info({ action }, 'admin control');
      return sendJson(res, 200, { ok: true, phase: coordinator.phase });
    }
    if ((method === 'PATCH' || method === 'POST') && path === '/api/config') {
      requireAdmin(req);
      const patch = parseBody(ConfigPatchSchema, await readJson(req));
      if (options.patchConfig) {
        const done = await options.patchConfig(patch);
        if (!done.ok) throw new HttpError(done.code === 'bad-value' ? 400 : 503, done.reason);
        return sendJson(res, 200, { ok: true, config: done.config });
      }
      try {
        coordinator.applyPatch(patch);
      } catch (error) {
        throw new HttpError(400, (error as Error).message);
      }
      return sendJson(res, 200, { ok: true, config: coordinator.config });
    }
    if (path.startsWith('/api/')) throw new HttpError(method === 'GET' ? 404 : 405, `no ${method} ${path}; see docs/PROTOCOL.md for the API`);

    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not served here`);
    const data = /^\/data\/((mnist|emoji)-(\d+)\.bin)$/.exec(path);
    if (data) {
      const file = datasetPath(data[2] as 'mnist' | 'emoji', Number(data[3]));
      if (!existsSync(file)) throw new HttpError(404, `dataset ${data[1]} is not built on this server`);
      return sendFile(res, file, 'public, max-age=3600');
    }
    if (path.startsWith('/tfjs-wasm/') && options.wasmDir) {
      const file = staticFile(options.wasmDir, path.slice('/tfjs-wasm/'.length));
      if (file) return sendFile(res, file, 'public, max-age=86400');
    }
    if (options.webRoot) {
      const file = staticFile(options.webRoot, path === '/' ? 'index.html' : path.slice(1));
      if (file) return sendFile(res, file, path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (!extname(path)) return sendFile(res, join(options.webRoot, 'index.html'));
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('fedbit aggregator: the web app is not built (run `npm run build:web`). The JSON API is at /api/status.');
      return;
    }
    throw new HttpError(404, `nothing at ${path}`);
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    // Socket.IO handles its own path; everything else is ours.
    if (req.url?.startsWith('/socket.io/')) return;
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) log.error({ err: (error as Error).message, url: req.url }, 'http handler failed');
      if (res.headersSent) return res.end();
      // No stack traces to clients.
      sendJson(res, status, { error: status === 500 ? 'internal error; see the server log' : (error as Error).message });
    });
  };
}

export function readTextIfExists(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
}
