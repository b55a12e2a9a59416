// Builds the WebAssembly merge kernel from its AssemblyScript source (../../assembly/merge.ts) with
// the compiler from npm (`assemblyscript`), at first use, into .cache/wasm/ under a name keyed by
// the source, the flags and the compiler version: an edited source is rebuilt, never served stale,
// and nothing generated is committed. A build takes a second or two, once per machine.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const MERGE_SOURCE = resolve(here, '../../assembly/merge.ts');
const CACHE_DIR = resolve(here, '../../../../.cache/wasm');
/** -O3, no garbage collector (the kernel allocates nothing), no bounds assertions, 128-bit SIMD. */
export const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'];

function compilerVersion(): string {
  return (createRequire(import.meta.url)('assemblyscript/package.json') as { version: string }).version;
}

/** Compiles the kernel's source; throws with the compiler's messages if it fails. */
export async function compileMergeKernel(): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  let binary: Uint8Array | null = null;
  const messages: string[] = [];
  const result = await asc.main([MERGE_SOURCE, '--outFile', 'merge.wasm', ...ASC_FLAGS], {
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    stdout: { write: (text: string | Uint8Array) => void messages.push(String(text)) } as never,
    stderr: { write: (text: string | Uint8Array) => void messages.push(String(text)) } as never,
  });
  if (result.error || !binary) throw new Error(`AssemblyScript could not build ${MERGE_SOURCE}: ${result.error?.message ?? 'no output'}\n${messages.join('')}`);
  return binary;
}

/** The kernel's WebAssembly bytes: from the cache, or built now and cached. */
export async function mergeKernelBytes(): Promise<Uint8Array> {
  const key = createHash('sha256').update(readFileSync(MERGE_SOURCE)).update(ASC_FLAGS.join(' ')).update(compilerVersion()).digest('hex').slice(0, 16);
  const path = join(CACHE_DIR, `merge-${key}.wasm`);
  if (existsSync(path)) return new Uint8Array(readFileSync(path));
  const bytes = await compileMergeKernel();
  mkdirSync(CACHE_DIR, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
  return bytes;
}
