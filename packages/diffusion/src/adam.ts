// Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", arXiv 1412.6980, Algorithm 1)
// with the exact arithmetic of tfjs's own AdamOptimizer (tfjs-core 4.22
// src/optimizers/adam_optimizer.ts), so a run is the same run with either:
//   m <- beta1 m + (1 - beta1) g          v <- beta2 v + (1 - beta2) g^2
//   w <- w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
// with beta1^t and beta2^t kept as float32 products, as tfjs keeps them.
// Defaults as tfjs: beta1 0.9, beta2 0.999, epsilon the backend's (1e-7 in float32).
//
// What differs is where the constants live. tf.train.adam turns every scalar of the update
// (beta1, 1 - beta1, beta2, 1 - beta2, epsilon, -lr) into a new tensor for each variable at every
// step: on WebGPU that is about 6 uploads of 4 bytes per variable per step (570 for the U-Net).
// Here they are tensors made once and kept on the device; the learning rate is an argument of each
// step (a schedule may change it every step: one 4-byte upload when it changes). On webgpu the
// moments of all variables are one state tensor updated in place, 7 variables per dispatch, and
// each variable's new weights one kernel (./webgpu/adam-kernels.ts), instead of about 14
// element-wise dispatches per variable; elsewhere it is the same composite of tfjs ops as tfjs's.
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_APPLY, adamMomentsInPlace, type MomentsItem } from './webgpu/adam-kernels';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  /** Default: the backend's epsilon when the optimizer is made (1e-7 for float32), as tf.train.adam. */
  epsilon?: number;
  /** Use the fused kernels where the backend has them (default true); false: always the composite of tfjs ops. */
  fused?: boolean;
}

/** Optimizer state of one variable on the composite path. */
type Moments = { m: tf.Tensor; v: tf.Tensor };

/** The fused path's state: [m of every variable | v of every variable], each variable at its offset. */
interface FusedState {
  tensor: tf.Tensor;
  offsets: number[];
  total: number;
}

/** Float32 arithmetic, as the device does it: JavaScript's double product of two floats is exact, then rounded once. */
const f32 = Math.fround;

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private moments: (Moments | null)[];
  private fusedState: FusedState | null = null;
  private constants: Record<'beta1' | 'oneMinusBeta1' | 'beta2' | 'oneMinusBeta2' | 'epsilon', tf.Scalar> | null = null;
  private negLr: { value: number; tensor: tf.Scalar } | null = null;
  /** beta^t as float32, as tfjs keeps them in a variable: 1 - accBeta is the bias correction. */
  private accBeta1: number;
  private accBeta2: number;
  private iterations = 0;
  private fused: boolean | null = null;
  private readonly allowFused: boolean;
  private disposed = false;

  constructor(
    readonly variables: readonly tf.Variable[],
    options: AdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    if (!(this.beta1 >= 0 && this.beta1 < 1) || !(this.beta2 >= 0 && this.beta2 < 1)) {
      throw new Error(`Adam's beta1 and beta2 must be in [0, 1), got ${this.beta1} and ${this.beta2}`);
    }
    if (!(this.epsilon > 0)) throw new Error(`Adam's epsilon must be > 0, got ${this.epsilon}`);
    this.allowFused = options.fused ?? true;
    this.moments = variables.map(() => null);
    this.accBeta1 = f32(this.beta1);
    this.accBeta2 = f32(this.beta2);
  }

  /** Steps taken since creation or the last reset. */
  get step(): number {
    return this.iterations;
  }

  /**
   * Computes f's gradients with respect to the variables, applies one Adam step at this learning
   * rate, and returns f's value (the caller disposes it), like tfjs's optimizer.minimize(f, true).
   */
  minimize(f: () => tf.Scalar, learningRate: number): tf.Scalar {
    this.alive();
    const { value, grads } = tf.variableGrads(f, this.variables as tf.Variable[]);
    try {
      this.applyGradients(grads, learningRate);
    } finally {
      tf.dispose(grads);
    }
    return value;
  }

  /** One Adam step from gradients named as the variables are (a variable without one is left alone). */
  applyGradients(grads: tf.NamedTensorMap, learningRate: number): void {
    this.alive();
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new Error(`learningRate must be a finite number > 0, got ${learningRate}`);
    this.fused ??= this.allowFused && tf.getKernel(ADAM_APPLY, tf.getBackend()) !== undefined;
    const oneMinusAcc1 = f32(1 - this.accBeta1);
    const oneMinusAcc2 = f32(1 - this.accBeta2);
    if (this.fused) this.applyFused(grads, learningRate, oneMinusAcc1, oneMinusAcc2);
    else this.applyComposite(grads, learningRate, oneMinusAcc1, oneMinusAcc2);
    this.accBeta1 = f32(this.accBeta1 * f32(this.beta1));
    this.accBeta2 = f32(this.accBeta2 * f32(this.beta2));
    this.iterations++;
  }

  /** Forgets the moments and the step count (the next step is step 1 again). */
  reset(): void {
    this.alive();
    this.disposeMoments();
    this.accBeta1 = f32(this.beta1);
    this.accBeta2 = f32(this.beta2);
    this.iterations = 0;
    this.fused = null;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeMoments();
    if (this.constants) tf.dispose(Object.values(this.constants));
    this.constants = null;
    this.negLr?.tensor.dispose();
    this.negLr = null;
  }

  private alive(): void {
    if (this.disposed) throw new Error('this Adam optimizer was disposed');
  }

  private disposeMoments(): void {
    for (const s of this.moments) if (s) tf.dispose([s.m, s.v]);
    this.moments = this.variables.map(() => null);
    this.fusedState?.tensor.dispose();
    this.fusedState = null;
  }

  private applyFused(grads: tf.NamedTensorMap, learningRate: number, oneMinusAcc1: number, oneMinusAcc2: number): void {
    const attrs = {
      beta1: f32(this.beta1),
      oneMinusBeta1: f32(1 - this.beta1),
      beta2: f32(this.beta2),
      oneMinusBeta2: f32(1 - this.beta2),
      epsilon: f32(this.epsilon),
      negLr: f32(-learningRate),
      oneMinusAcc1,
      oneMinusAcc2,
    };
    if (!this.fusedState) {
      const offsets: number[] = [];
      let total = 0;
      for (const v of this.variables) {
        offsets.push(total);
        total += v.size;
      }
      // tf.fill runs on the device (tf.zeros would upload a CPU array)
      this.fusedState = { tensor: tf.keep(tf.fill([2 * total], 0)), offsets, total };
    }
    const { tensor, offsets, total } = this.fusedState;
    const items: MomentsItem[] = [];
    this.variables.forEach((variable, i) => {
      const g = grads[variable.name];
      if (g) items.push({ g, offset: offsets[i] });
    });
    adamMomentsInPlace(tensor, items, total, attrs);
    this.variables.forEach((variable, i) => {
      if (!grads[variable.name]) return;
      const updated = tf.engine().runKernel(ADAM_APPLY, { w: variable, state: tensor }, { ...attrs, offset: offsets[i], total }) as tf.Tensor;
      variable.assign(updated);
      updated.dispose();
    });
  }

  private applyComposite(grads: tf.NamedTensorMap, learningRate: number, oneMinusAcc1Value: number, oneMinusAcc2Value: number): void {
    const c = this.scalars();
    const negLr = this.negLrTensor(learningRate);
    tf.tidy(() => {
      // 1 - beta^t, the float32 value tfjs computes on the device from its accBeta variable: one 4-byte upload each.
      const oneMinusAcc1 = tf.scalar(oneMinusAcc1Value);
      const oneMinusAcc2 = tf.scalar(oneMinusAcc2Value);
      this.variables.forEach((variable, i) => {
        const g = grads[variable.name];
        if (!g) return;
        let s = this.moments[i];
        if (!s) {
          s = { m: tf.keep(tf.zerosLike(variable)), v: tf.keep(tf.zerosLike(variable)) };
          this.moments[i] = s;
        }
        const m = tf.add(tf.mul(s.m, c.beta1), tf.mul(g, c.oneMinusBeta1));
        const v = tf.add(tf.mul(s.v, c.beta2), tf.mul(tf.square(g), c.oneMinusBeta2));
        const mHat = tf.div(m, oneMinusAcc1);
        const vHat = tf.div(v, oneMinusAcc2);
        variable.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon)), negLr), variable));
        s.m.dispose();
        s.v.dispose();
        this.moments[i] = { m: tf.keep(m), v: tf.keep(v) };
      });
    });
  }

  private scalars(): NonNullable<Adam['constants']> {
    // kept: minimize is usually called inside the caller's tf.tidy
    this.constants ??= {
      beta1: tf.keep(tf.scalar(this.beta1)),
      oneMinusBeta1: tf.keep(tf.scalar(1 - this.beta1)),
      beta2: tf.keep(tf.scalar(this.beta2)),
      oneMinusBeta2: tf.keep(tf.scalar(1 - this.beta2)),
      epsilon: tf.keep(tf.scalar(this.epsilon)),
    };
    return this.constants;
  }

  private negLrTensor(learningRate: number): tf.Scalar {
    if (this.negLr?.value !== learningRate) {
      this.negLr?.tensor.dispose();
      this.negLr = { value: learningRate, tensor: tf.keep(tf.scalar(-learningRate)) };
    }
    return this.negLr.tensor;
  }
}
