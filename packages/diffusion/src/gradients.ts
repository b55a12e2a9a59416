// tfjs-core alone registers no gradients; the umbrella package imports
// '@tensorflow/tfjs-core/dist/register_all_gradients' for that. That file is ESM with
// extensionless imports, which bundlers resolve but Node cannot, so Node registers them through
// the umbrella's CommonJS build instead (its size does not matter there). Both write into the
// same global gradient registry that tfjs-core reads.
import * as tf from '@tensorflow/tfjs-core';
import { isNode } from './runtime';

let pending: Promise<void> | null = null;

export function gradientsRegistered(): boolean {
  return tf.getGradient('Conv2D') !== undefined && tf.getGradient('Sum') !== undefined;
}

export function ensureGradients(): Promise<void> {
  if (gradientsRegistered()) return Promise.resolve();
  pending ??= (async () => {
    if (isNode()) {
      // a computed specifier, so browser bundlers do not emit the whole umbrella package as a chunk
      const umbrella = '@tensorflow/tfjs';
      await import(/* @vite-ignore */ umbrella);
    } else {
      await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    }
  })();
  return pending;
}

export function assertGradients(): void {
  if (!gradientsRegistered()) {
    throw new Error('tfjs gradients are not registered: await initBackend() from @fedbit/diffusion before training');
  }
}
