/** Precisions a device can be assigned, in bits per parameter. 16 is IEEE half, 32 is float. */
export const ALL_BITS = [1, 2, 4, 8, 16, 32] as const;
export type Bits = (typeof ALL_BITS)[number];

export function isBits(n: unknown): n is Bits {
  return typeof n === 'number' && (ALL_BITS as readonly number[]).includes(n);
}
