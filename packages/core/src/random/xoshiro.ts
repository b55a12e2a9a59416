// Seeded pseudo-random source for stochastic rounding: xoshiro128** (Blackman & Vigna,
// "Scrambled linear pseudorandom number generators", ACM TOMS 2021, arXiv 1805.01407), seeded
// through splitmix32 so nearby seeds give unrelated streams. Chosen over Math.random because a
// run must be reproducible from its seed, and over a hash-per-element because it costs a few
// integer ops per 32-bit output. Not cryptographic.

const TWO_POW_MINUS_32 = 2 ** -32;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`);
    const whole = Math.trunc(seed);
    // Both 32-bit halves feed the state, so seeds that differ only above bit 31 still differ.
    let x = (whole >>> 0) ^ Math.imul(Math.floor(whole / 2 ** 32) >>> 0, 0x9e3779b1);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // The all-zero state is the one fixed point of xoshiro; splitmix cannot give four zeros in a
    // row in practice, but the guard keeps that a proof rather than a hope.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Next uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }

  /** Fills out[0..count) with uniform integers in [0, 2^32); one call per block keeps the
   * generator's state in registers instead of a call per element on the encoder's hot path. */
  fillUint32(out: Uint32Array, count: number = out.length): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < count; i++) {
      const x = Math.imul(s1, 5);
      out[i] = Math.imul((x << 7) | (x >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A reproducible random source: the same seed gives the same stream on every platform. */
export function createRng(seed: number): Rng {
  return new Rng(seed);
}
