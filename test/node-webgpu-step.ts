// Run by test/node-webgpu.test.ts in a plain Node process (tsx, Node's own module resolution: the
// process where the old isNode() answer made initBackend('webgpu') throw), with SwiftShader's
// Vulkan driver in its environment. Checks the fused GroupNorm + SiLU kernels, the bias gradients
// and the fused Adam against the unfused ops, trains the bench's tiny case and prints one JSON line.
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../packages/diffusion/src/adam';
import { addBias, addChannels } from '../packages/diffusion/src/bias';
import { groupNormSilu } from '../packages/diffusion/src/norm';
import { countWebGpuCalls, createModel, createTrainer, diffCounts, initBackend, resolveModelConfig, webGpuCounts } from '../packages/diffusion/src/index';

const BATCH = 8;
const STEPS = Number(process.argv[2] ?? 3);
const info = await initBackend('webgpu');

// GroupNorm + SiLU fused on webgpu against tfjs autodiff of the unfused ops: the largest relative
// difference over the values and the gradients of x, gamma and beta (a group larger than one workgroup)
function det(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.9), shape);
}
async function relDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [d, m] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a, b))), tf.max(tf.abs(b))]);
  const value = (await d.data())[0] / (await m.data())[0];
  tf.dispose([d, m]);
  return value;
}
let fusedNorm = 0;
for (const [shape, groups] of [
  [[3, 8, 8, 12], 4],
  [[2, 4, 4, 8], 2],
] as [number[], number][]) {
  const consts = { eps: tf.scalar(1e-5), one: tf.scalar(1) };
  const [x, g, b, r] = [det(shape, 21), det([shape[3]], 22), det([shape[3]], 23), det(shape, 24)];
  const f = (mode: 'fused' | 'builtin') => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => groupNormSilu(a as tf.Tensor4D, c, d, groups, consts, mode);
  const grads = (mode: 'fused' | 'builtin') => tf.grads((a, c, d) => tf.sum(tf.mul(f(mode)(a, c, d), r)))([x, g, b]);
  const [yF, yB] = [f('fused')(x, g, b), f('builtin')(x, g, b)];
  const [gF, gB] = [grads('fused'), grads('builtin')];
  fusedNorm = Math.max(fusedNorm, await relDiff(yF, yB), ...(await Promise.all(gF.map((t, k) => relDiff(t, gB[k])))));
  tf.dispose([x, g, b, r, yF, yB, ...gF, ...gB, consts.eps, consts.one]);
}

// bias adds with the one-kernel gradient against tf.add's own: a conv's bias (rows over n*h*w,
// more than one workgroup) and the per-image vector added to every pixel
let fusedBias = 0;
{
  const [x, bias, v, r] = [det([3, 8, 8, 12], 31), det([12], 32), det([3, 12], 33), det([3, 8, 8, 12], 34)];
  const cases: [(a: tf.Tensor, b: tf.Tensor, fused: boolean) => tf.Tensor, tf.Tensor][] = [
    [addBias, bias],
    [addChannels, v],
  ];
  for (const [op, vec] of cases) {
    const grads = (fused: boolean) => tf.grads((a, c) => tf.sum(tf.mul(op(a, c, fused), r)))([x, vec]);
    const [gF, gB] = [grads(true), grads(false)];
    fusedBias = Math.max(fusedBias, ...(await Promise.all(gF.map((t, k) => relDiff(t, gB[k])))));
    tf.dispose([...gF, ...gB]);
  }
  tf.dispose([x, bias, v, r]);
}

// Adam fused (moments of all variables in one state, 7 per dispatch, in place) against the
// composite of tfjs ops: 10 variables (two dispatch groups), one without a gradient in every other
// step, a learning rate per step, and the weights read back between steps
let fusedAdam = 0;
{
  const shapes = [[3, 3, 2, 4], [5], [70, 3], [1], [4, 4], [129], [2, 2, 2, 2], [17, 3], [8], [3, 3, 4, 4]];
  const make = (tag: string) => shapes.map((shape, k) => tf.variable(det(shape, k + 1), true, `${tag}${k}`));
  const [fusedVars, compositeVars] = [make('fusedAdam'), make('compositeAdam')];
  const [fused, composite] = [new Adam(fusedVars), new Adam(compositeVars, { fused: false })];
  const targets = shapes.map((shape, k) => det(shape, 40 + k));
  for (let step = 0; step < 6; step++) {
    for (const [opt, vars] of [
      [fused, fusedVars],
      [composite, compositeVars],
    ] as [Adam, tf.Variable[]][]) {
      const grads = tf.tidy(() => {
        const out: tf.NamedTensorMap = {};
        vars.forEach((v, k) => {
          if (k === 3 && step % 2 === 1) return;
          out[v.name] = tf.mul(tf.sub(v, targets[k]), k + 1);
        });
        return out;
      });
      opt.applyGradients(grads, 0.02 / (step + 1));
      tf.dispose(Object.values(grads));
    }
    await fusedVars[9].data();
  }
  for (let k = 0; k < shapes.length; k++) fusedAdam = Math.max(fusedAdam, await relDiff(fusedVars[k], compositeVars[k]));
  fused.dispose();
  composite.dispose();
  tf.dispose([...fusedVars, ...compositeVars, ...targets]);
}

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
console.log(JSON.stringify({ info, fusedNorm, fusedBias, fusedAdam, losses, steps: STEPS - 1, counts, tensorGrowth }));
process.exit(0);
