// Node reader of a pretrained base on disk: <dir>/<name>/manifest.json and weights.f16.bin
// (format and checks in ./pretrained.ts; a browser fetches the same files from /models/<name>/).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_MANIFEST_FILE, BASE_WEIGHTS_FILE, decodeBase, type PretrainedBase } from './pretrained';

/** <repo>/public/models: served to the web page as /models/. */
export const MODELS_DIR = fileURLToPath(new URL('../../../public/models/', import.meta.url));

export async function loadPretrainedBase(name: string, dir: string = MODELS_DIR): Promise<PretrainedBase> {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new Error(`base name "${name}": expected lowercase letters, digits, ".", "_" or "-" (1 to 64 long)`);
  const base = join(resolve(dir), name);
  let manifest: unknown;
  const manifestPath = join(base, BASE_MANIFEST_FILE);
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the base "${name}": ${manifestPath}: ${(error as Error).message}`);
  }
  const weightsPath = join(base, BASE_WEIGHTS_FILE);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(weightsPath));
  } catch (error) {
    throw new Error(`cannot read the base "${name}": ${weightsPath}: ${(error as Error).message}`);
  }
  try {
    return await decodeBase(manifest, bytes);
  } catch (error) {
    throw new Error(`${base}: ${(error as Error).message}`);
  }
}
