// Run by test/node-webgpu.test.ts in a plain Node process (tsx, Node's own module resolution: the
// process where the old isNode() answer made initBackend('webgpu') throw), with SwiftShader's
// Vulkan driver in its environment. Trains the bench's tiny case and prints one JSON line.
import * as tf from '@tensorflow/tfjs-core';
import { countWebGpuCalls, createModel, createTrainer, diffCounts, initBackend, resolveModelConfig, webGpuCounts } from '../packages/diffusion/src/index';

const BATCH = 8;
const STEPS = Number(process.argv[2] ?? 3);
const info = await initBackend('webgpu');
countWebGpuCalls();
const model = createModel(resolveModelConfig('tiny', { imageSize: 16, channels: 1 }), 0);
const trainer = createTrainer(model, { learningRate: 1e-3, batchSize: BATCH, schedule: { kind: 'cosine', steps: 1000 }, seed: 0 });
// the bench's images (apps/cli/src/bench/train.ts)
const images = new Float32Array(BATCH * 16 * 16);
for (let i = 0; i < images.length; i++) images[i] = ((i * 2654435761) % 997) / 997;
const losses = [await trainer.step({ images, count: BATCH })];
const tensors = tf.memory().numTensors;
const before = webGpuCounts();
for (let i = 1; i < STEPS; i++) losses.push(await trainer.step({ images, count: BATCH }));
const counts = diffCounts(webGpuCounts(), before);
const tensorGrowth = tf.memory().numTensors - tensors;
trainer.dispose();
model.dispose();
console.log(JSON.stringify({ info, losses, steps: STEPS - 1, counts, tensorGrowth }));
process.exit(0);
