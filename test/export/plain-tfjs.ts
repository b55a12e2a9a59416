// The loading side of test/export.test.ts, as a person with only the downloaded model has it:
// plain @tensorflow/tfjs and a URL, no package of this project (the test checks these imports).
import * as tf from '@tensorflow/tfjs';

export interface DenoiseInput {
  /** NHWC noisy images in [-1, 1]. */
  x: Float32Array;
  shape: [number, number, number, number];
  /** One integer timestep per image. */
  t: number[];
  /** One label per image (class-conditional models). */
  label?: number[];
}

/** Loads the graph model at modelUrl and predicts the noise of one denoising step. */
export async function denoiseOnce(modelUrl: string, input: DenoiseInput): Promise<{ eps: Float32Array; leakedTensors: number }> {
  const model = await tf.loadGraphModel(modelUrl);
  try {
    const before = tf.memory().numTensors;
    const inputs: Record<string, tf.Tensor> = { x: tf.tensor4d(input.x, input.shape), t: tf.tensor1d(input.t, 'int32') };
    if (input.label) inputs.label = tf.tensor1d(input.label, 'int32');
    const eps = model.predict(inputs) as tf.Tensor;
    const values = (await eps.data()) as Float32Array;
    tf.dispose([eps, ...Object.values(inputs)]);
    return { eps: values, leakedTensors: tf.memory().numTensors - before };
  } finally {
    model.dispose();
  }
}

interface FedbitMetadata {
  fedbit: { config: { imageSize: number; channels: number; numClasses: number }; schedule: { kind: 'cosine' | 'linear'; steps: number } };
}

/** The DDIM loop of docs/EXPORT.md, as written there: images NHWC in [0, 1]. */
export async function sampleDdim(modelUrl: string, n: number, S: number): Promise<{ images: Float32Array; shape: number[]; leakedTensors: number }> {
  const model = await tf.loadGraphModel(modelUrl);
  const before = tf.memory().numTensors;
  const { config, schedule } = (model.metadata as FedbitMetadata).fedbit;
  const T = schedule.steps;
  const abar = alphaBars(schedule.kind, T);
  const taus = Array.from({ length: S }, (_, i) => Math.round((i * (T - 1)) / (S - 1)));
  // a class-conditional model needs a label: numClasses means "no label"
  const label: Record<string, tf.Tensor> = config.numClasses > 0 ? { label: tf.fill([n], config.numClasses, 'int32') } : {};
  let x = tf.randomNormal([n, config.imageSize, config.imageSize, config.channels]);
  for (let i = S - 1; i >= 0; i--) {
    const ab = abar[taus[i]];
    const abPrev = i > 0 ? abar[taus[i - 1]] : 1;
    const next = tf.tidy(() => {
      const eps = model.predict({ x, t: tf.fill([n], taus[i], 'int32'), ...label }) as tf.Tensor;
      const x0 = x.sub(eps.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab)).clipByValue(-1, 1);
      const e = x.sub(x0.mul(Math.sqrt(ab))).div(Math.sqrt(1 - ab));
      return x0.mul(Math.sqrt(abPrev)).add(e.mul(Math.sqrt(1 - abPrev)));
    });
    x.dispose();
    x = next;
  }
  const images = tf.tidy(() => x.add(1).div(2).clipByValue(0, 1));
  const values = (await images.data()) as Float32Array;
  const shape = images.shape;
  tf.dispose([x, images, ...Object.values(label)]);
  const leakedTensors = tf.memory().numTensors - before;
  model.dispose();
  return { images: values, shape, leakedTensors };
}

function alphaBars(kind: 'cosine' | 'linear', T: number): number[] {
  const betas =
    kind === 'cosine'
      ? Array.from({ length: T }, (_, t) => {
          const f = (s: number) => Math.cos(((s / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
          return Math.min(1 - f(t + 1) / f(t), 0.999);
        })
      : Array.from({ length: T }, (_, t) => {
          const a = Math.min((1000 / T) * 1e-4, 0.999);
          const b = Math.min((1000 / T) * 0.02, 0.999);
          return a + ((b - a) * t) / (T - 1);
        });
  let prod = 1;
  return betas.map((beta) => (prod *= 1 - beta));
}
