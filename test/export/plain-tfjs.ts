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
