import { createMnistClassifierFromJson, type MnistClassifier } from './classifier';
import { createStyleClassifierFromJson, type StyleClassifier } from './style-classifier';

/** Where the committed weights live, next to this package's source. */
export const CLASSIFIER_URL = new URL('../../assets/mnist-classifier/classifier.json', import.meta.url);
/** The emoji style classifier's committed weights (the style Fréchet distance). */
export const STYLE_CLASSIFIER_URL = new URL('../../assets/emoji-style-classifier/classifier.json', import.meta.url);

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

let cached: Promise<unknown> | null = null;
let cachedStyle: Promise<unknown> | null = null;

/**
 * Loads the committed classifier. Node reads the file from disk; a browser fetches `url`
 * (default: the asset URL a bundler resolves from this module). Each call returns a new
 * classifier holding its own tensors; the parsed JSON is cached.
 */
export async function loadMnistClassifier(url: URL | string = CLASSIFIER_URL): Promise<MnistClassifier> {
  const source = url === CLASSIFIER_URL ? (cached ??= readJson(url)) : readJson(url);
  return createMnistClassifierFromJson(await source);
}

/** Loads the committed emoji style classifier (Node: from disk; a browser: fetched); like loadMnistClassifier. */
export async function loadStyleClassifier(url: URL | string = STYLE_CLASSIFIER_URL): Promise<StyleClassifier> {
  const what = { name: 'emoji style classifier', script: 'train-style-classifier.ts' };
  const source = url === STYLE_CLASSIFIER_URL ? (cachedStyle ??= readJson(url, what)) : readJson(url, what);
  return createStyleClassifierFromJson(await source.catch((error: unknown) => {
    if (url === STYLE_CLASSIFIER_URL) cachedStyle = null;
    throw error;
  }));
}

async function readJson(url: URL | string, what = { name: 'MNIST classifier', script: 'train-classifier.ts' }): Promise<unknown> {
  const href = typeof url === 'string' ? url : url.href;
  if (isNode() && (href.startsWith('file:') || !/^[a-z]+:/i.test(href))) {
    const { readFile } = await import('node:fs/promises');
    const path = href.startsWith('file:') ? new URL(href) : href;
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read the ${what.name} at ${href}: ${(error as Error).message}. Train it with \`npx tsx apps/cli/src/scripts/${what.script}\`.`);
    }
  }
  const response = await fetch(href);
  if (!response.ok) throw new Error(`cannot fetch the ${what.name} from ${href}: HTTP ${response.status}`);
  return response.json();
}
