// Shared pieces of the real-browser tests: build the web app when stale, start an aggregator
// with a tiny model, launch headless Chromium with SwiftShader WebGPU, and read the pages.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { pino } from 'pino';
import type { RoundSummary } from '@fedbit/core';
import { resolveRunConfig, startServer, type RunConfigInput, type RunStatus, type RunningServer } from '@fedbit/server';
import { fastConfig, tmpRunDir } from '../helpers';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const WEB_ROOT = join(REPO, 'dist/web');
export const ARTIFACTS = join(REPO, 'test-artifacts');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
export const JOIN_CODE = 'e2ecode1';

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Builds dist/web with the top-level vite.config.ts unless it is newer than every source it bundles. */
export async function buildWebIfStale(): Promise<void> {
  const index = join(WEB_ROOT, 'index.html');
  const sources = [join(REPO, 'apps/web'), join(REPO, 'public'), join(REPO, 'vite.config.ts'), ...readdirSync(join(REPO, 'packages')).map((p) => join(REPO, 'packages', p, 'src'))];
  if (existsSync(index) && statSync(index).mtimeMs > Math.max(...sources.filter(existsSync).map(newestMtime))) return;
  const { build } = await import('vite');
  // vitest sets NODE_ENV=test, which would bundle React's development build: build as `npm start` does.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(REPO, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/** The integration tests' fast config, for two browser tabs (WebGPU on SwiftShader is slow: long deadline). */
export function e2eConfig(overrides: RunConfigInput = {}): RunConfigInput {
  return fastConfig({
    devicesPerRound: 2,
    minDevices: 2,
    quorum: 2,
    deadlineS: 240,
    dataset: { name: 'mnist', imageSize: 16, partition: 'iid', shards: 2 },
    ...overrides,
  });
}

export async function startE2eServer(overrides: RunConfigInput = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    config: resolveRunConfig(e2eConfig(overrides)),
    webRoot: WEB_ROOT,
    runDir: tmpRunDir('fedbit-e2e-'),
    joinCode: JOIN_CODE,
    adminToken: ADMIN_TOKEN,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }),
  });
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // SwiftShader WebGPU on http://localhost; --disable-gpu is left out because it turns WebGPU off.
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** A page that keeps its console errors, so a failing test can say what the browser saw. */
export async function openPage(context: BrowserContext, url: string, log: string[], label: string): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`[${label} ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`[${label} pageerror] ${e.message}`));
  await page.goto(url);
  return page;
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export async function control(server: RunningServer, action: 'start' | 'pause' | 'stop'): Promise<void> {
  const response = await fetch(`${server.url}/api/control`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action }),
  });
  if (!response.ok) throw new Error(`POST /api/control ${action}: HTTP ${response.status} ${await response.text()}`);
}

export const status = (server: RunningServer) => getJson<RunStatus>(`${server.url}/api/status`);
export const rounds = async (server: RunningServer) => (await getJson<{ rounds: RoundSummary[] }>(`${server.url}/api/rounds`)).rounds;

/** Polls until `check` returns a value other than undefined, or throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface TabRound {
  round: number;
  bits: number;
  accepted: string | null;
}

/** The rounds a device tab lists: the precision it was told and whether its update was taken. */
export async function tabRounds(page: Page): Promise<TabRound[]> {
  return page.$$eval('[data-testid=round-record]', (items) =>
    items.map((el) => ({ round: Number(el.getAttribute('data-round')), bits: Number(el.getAttribute('data-bits')), accepted: el.getAttribute('data-accepted') })),
  );
}

export async function imageRendered(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);
}

export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/**
 * A suite's room of tabs: registers the hooks (build the app, one Chromium for the suite, every
 * context and the aggregator closed after each test, the browser's console shown when one fails).
 */
export function browserRoom() {
  const room = {
    browser: null as Browser | null,
    server: null as RunningServer | null,
    log: [] as string[],
    contexts: [] as BrowserContext[],
    /** A context of its own (own storage: its own device, as two phones would be). */
    async context(options: BrowserContextOptions = PHONE): Promise<BrowserContext> {
      const context = await room.browser!.newContext(options);
      room.contexts.push(context);
      return context;
    },
    /** A device tab that opened `url` and pressed Join. */
    async tab(url: string, label: string): Promise<Page> {
      const page = await openPage(await room.context(), url, room.log, label);
      await page.getByTestId('join').click();
      return page;
    },
  };
  beforeAll(async () => {
    await buildWebIfStale();
    room.browser = await launchChromium();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && room.log.length > 0) console.error(room.log.join('\n'));
    room.log.length = 0;
    await Promise.all(room.contexts.splice(0).map((c) => c.close().catch(() => undefined)));
    await room.server?.close();
    room.server = null;
  });
  afterAll(async () => {
    await room.browser?.close();
  });
  return room;
}

/** A WebSocket frame's or request body's bytes, as sent. */
export const bytesOf = (data: unknown): Buffer | null =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : null;

/**
 * Both ends of a tab's traffic, for the tests that check the person's own data never leaves it:
 * every HTTP request (from Chromium) and Socket.IO packet the aggregator received, and every
 * request and WebSocket frame the page and its worker sent (Playwright). Call `page(p)` on each page.
 */
export function watchTraffic(server: RunningServer, context: BrowserContext) {
  const seen = { http: [] as { method: string; url: string }[], packets: [] as unknown[], sent: [] as { what: string; data: Buffer | null }[] };
  server.io.httpServer.on('request', (req) => {
    if (/Chrome/.test(req.headers['user-agent'] ?? '')) seen.http.push({ method: req.method ?? '', url: req.url ?? '' });
  });
  server.io.engine.on('connection', (socket: { on(event: 'packet', f: (p: { type: string; data?: unknown }) => void): void }) => socket.on('packet', (p) => seen.packets.push(p.data)));
  context.on('request', (r) => seen.sent.push({ what: `${r.method()} ${r.url()}`, data: r.postDataBuffer() }));
  return {
    ...seen,
    page(page: Page) {
      page.on('websocket', (ws) => ws.on('framesent', (f) => seen.sent.push({ what: `ws ${ws.url()}`, data: bytesOf(f.payload) })));
    },
    /** Checks nothing seen carries any of `signatures` (after checking the check can fail); returns a line for the log. */
    expectNoneCarries(signatures: Buffer[]): string {
      const carries = (data: Buffer | null) => data !== null && signatures.some((sig) => data.includes(sig));
      expect(carries(Buffer.concat([Buffer.from('451-["update",'), signatures[1]]))).toBe(true); // the check can fail
      // The aggregator: no dataset download (the tab used its own data), nothing posted, no packet with it.
      expect(seen.http.filter((r) => r.url.startsWith('/data/'))).toEqual([]);
      expect(seen.http.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
      expect(seen.http.length).toBeGreaterThan(3); // the page, its scripts, the model... were seen
      expect(seen.packets.length).toBeGreaterThan(3);
      expect(seen.packets.filter((p) => carries(bytesOf(p)))).toEqual([]);
      // The tab and its worker: no request or frame with it (frames are only seen where the browser reports them).
      expect(seen.sent.filter((s) => s.what.includes('/data/'))).toEqual([]);
      expect(seen.sent.filter((s) => carries(s.data)).map((s) => s.what)).toEqual([]);
      const frames = seen.sent.filter((s) => s.what.startsWith('ws ')).length;
      return `${seen.packets.length} packets received by the aggregator, ${seen.sent.length - frames} requests and ${frames} WebSocket frames seen leaving the tab`;
    },
  };
}

/** The records a tab keeps in one store of its IndexedDB ('drawings' or 'photos'), with their pixels as plain arrays. */
export function storedRecords<T extends { pixels: number[] }>(page: Page, store: 'drawings' | 'photos'): Promise<T[]> {
  return page.evaluate(
    (name) =>
      new Promise<T[]>((resolve, reject) => {
        const open = indexedDB.open('fedbit');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction(name).objectStore(name).getAll();
          get.onsuccess = () => resolve(get.result.map((r: { pixels: Uint8Array }) => ({ ...r, pixels: Array.from(r.pixels) }) as unknown as T));
          get.onerror = () => reject(get.error);
        };
      }),
    store,
  );
}
