// Gzipped size of what the device page (/) loads before it runs: the module scripts and
// modulepreloads that dist/web/index.html names. The training worker and the lazily loaded
// dashboard are reported apart. Run: npx tsx test/e2e/bundle-size.ts [dist/web] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface ChunkSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface BundleSizes {
  initial: ChunkSize[];
  initialGzipBytes: number;
  /** The worker's entry chunk and its static imports, then the chunks it imports on demand (tfjs backends, gradients). */
  worker: ChunkSize[];
  workerLazy: ChunkSize[];
  workerGzipBytes: number;
  dashboard: ChunkSize[];
}

function size(dir: string, file: string): ChunkSize {
  const data = readFileSync(join(dir, file));
  return { file, bytes: data.byteLength, gzipBytes: gzipSync(data, { level: 9 }).byteLength };
}

/** Chunks a chunk imports: static (`from"./x.js"`) and dynamic (`import("./x.js")`), as paths under dir. */
function importsOf(dir: string, file: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(join(dir, file), 'utf8');
  const base = file.slice(0, file.lastIndexOf('/') + 1);
  const resolveRef = (ref: string) => (ref.startsWith('./') ? base + ref.slice(2) : ref.replace(/^\//, ''));
  const found = (re: RegExp) => [...text.matchAll(re)].map((m) => resolveRef(m[1])).filter((f) => f.endsWith('.js'));
  return { static: found(/(?:from|import)\s*"(\.{1,2}\/[^"]+|\/assets\/[^"]+)"/g), dynamic: found(/import\(\s*"(\.{1,2}\/[^"]+|\/assets\/[^"]+)"\s*\)/g) };
}

/** Every chunk reachable from `roots` by static imports; dynamic imports are collected apart. */
function closure(dir: string, roots: string[]): { files: Set<string>; lazy: Set<string> } {
  const files = new Set<string>();
  const lazy = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const { static: direct, dynamic } = importsOf(dir, file);
    queue.push(...direct);
    dynamic.forEach((d) => lazy.add(d));
  }
  return { files, lazy };
}

export function bundleSizes(dir: string): BundleSizes {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const roots = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  const page = closure(dir, roots);
  const assets = readdirSync(join(dir, 'assets')).filter((f) => f.endsWith('.js'));
  const workerEntry = assets.filter((f) => f.startsWith('worker')).map((f) => `assets/${f}`);
  const worker = closure(dir, workerEntry);
  const workerLazy = closure(dir, [...worker.lazy].filter((f) => !worker.files.has(f)));
  const initial = [...page.files].map((f) => size(dir, f));
  const workerSizes = [...worker.files].map((f) => size(dir, f));
  const lazySizes = [...workerLazy.files].filter((f) => !worker.files.has(f)).map((f) => size(dir, f));
  const sum = (chunks: ChunkSize[]) => chunks.reduce((total, c) => total + c.gzipBytes, 0);
  return {
    initial,
    initialGzipBytes: sum(initial),
    worker: workerSizes,
    workerLazy: lazySizes,
    workerGzipBytes: sum(workerSizes),
    dashboard: assets.filter((f) => f.startsWith('Dashboard')).map((f) => size(dir, `assets/${f}`)),
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = resolve(args.find((a) => !a.startsWith('--')) ?? 'dist/web');
  const sizes = bundleSizes(dir);
  if (args.includes('--json')) {
    console.log(JSON.stringify(sizes, null, 2));
  } else {
    const rows: Array<[string, ChunkSize[]]> = [
      ['device page, initial', sizes.initial],
      ['training worker', sizes.worker],
      ['worker, on demand', sizes.workerLazy],
      ['dashboard (lazy)', sizes.dashboard],
    ];
    for (const [what, chunks] of rows) for (const c of chunks) console.log(`${what.padEnd(22)} ${c.file.padEnd(44)} ${kib(c.bytes).padStart(11)} ${kib(c.gzipBytes).padStart(11)} gzip`);
    console.log(`device page initial JS, gzipped: ${kib(sizes.initialGzipBytes)}`);
    console.log(`training worker (entry + static imports), gzipped: ${kib(sizes.workerGzipBytes)}; on demand: ${kib(sizes.workerLazy.reduce((t, c) => t + c.gzipBytes, 0))}`);
  }
}
