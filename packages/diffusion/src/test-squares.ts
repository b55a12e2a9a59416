// Test images shared by the diffusion tests: bright 7x7 squares at different places on a dark
// 16x16 single-channel background (`shift` moves every square, for a second, different set).
export const SQUARES_SIZE = 16;

export function squares(count: number, shift = 0): Float32Array {
  const size = SQUARES_SIZE;
  const out = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const y0 = (n * 3 + shift) % 9;
    const x0 = (n * 5 + shift) % 9;
    for (let y = y0; y < y0 + 7; y++) for (let x = x0; x < x0 + 7; x++) out[n * size * size + y * size + x] = 1;
  }
  return out;
}
