import { describe, expect, it } from 'vitest';
import { SecAggDevice, SecAggServer, setupRound, type Revealed, type SealedShares } from './protocol';
import { neighborGraph } from './graph';
import { combine, split } from './shamir';
import { randomBytes } from './crypto';

/** One whole round in memory: n devices, `dropAfterShare` of them never send y, `silent` send y but not their reveals. */
async function round(n: number, length: number, bits: number, dropAfterShare: Set<number>, silent = new Set<number>()) {
  const setup = setupRound(1, n, length, bits, 42);
  const server = new SecAggServer(setup);
  const devices = Array.from({ length: n }, (_, i) => new SecAggDevice(setup, i));
  const adverts = await Promise.all(devices.map((d) => d.advertise()));
  adverts.forEach((a) => server.advertised(a));
  const bundles: SealedShares[] = (await Promise.all(devices.map((d) => d.share(adverts)))).flat();
  await Promise.all(devices.map((d) => d.receive(bundles.filter((b) => b.to === d.index))));
  const inputs = devices.map((_, i) => Uint32Array.from({ length }, (_, v) => (i * 7 + v * 13) % 2 ** bits));
  const masked = new Map<number, Uint32Array>();
  for (const d of devices) {
    if (dropAfterShare.has(d.index)) continue;
    const y = await d.mask(inputs[d.index]);
    masked.set(d.index, y);
    server.masked(d.index, y);
  }
  const revealed: Revealed[] = devices.filter((d) => masked.has(d.index) && !silent.has(d.index)).flatMap((d) => d.unmask(server.senders));
  const result = await server.finish(revealed);
  const expected = new Uint32Array(length);
  for (const i of masked.keys()) for (let v = 0; v < length; v++) expected[v] += inputs[i][v];
  return { setup, result, expected, masked };
}

describe('Shamir sharing', () => {
  it('any threshold of the shares rebuild the secret; one fewer does not', () => {
    const secret = randomBytes(32);
    const shares = split(secret, 3, [1, 2, 3, 4, 5], randomBytes);
    expect(combine([shares[4], shares[0], shares[2]], 32)).toEqual(secret);
    // Two shares interpolate a random field element: almost never 32 bytes long, never the secret.
    let fewer: Uint8Array | null = null;
    try {
      fewer = combine(shares.slice(0, 2), 32);
    } catch {
      fewer = null;
    }
    expect(fewer).not.toEqual(secret);
  });
});

describe('the neighbor graph', () => {
  it('is symmetric, k-regular and without self-loops', () => {
    const g = neighborGraph(50, 10, 7);
    g.forEach((list, i) => {
      expect(new Set(list).size).toBe(10);
      expect(list).not.toContain(i);
      for (const j of list) expect(g[j]).toContain(i);
    });
  });
});

describe('secure aggregation on low-bit integers', () => {
  it('the server gets exactly the plaintext sum, with masks of bits + ceil(log2 n) bits', async () => {
    const { setup, result, expected } = await round(10, 500, 4, new Set());
    expect(setup.modulusBits).toBe(8);
    expect(Array.from(result.sum)).toEqual(Array.from(expected));
  });

  it('with 30% of the devices dropping after sharing, and some not answering the unmasking, the round still has the right sum', async () => {
    const { setup, result, expected } = await round(20, 300, 4, new Set([1, 5, 9, 13, 17, 19]), new Set([2, 3]));
    expect(setup.degree).toBeLessThan(20);
    expect(result.dropped).toEqual([1, 5, 9, 13, 17, 19]);
    expect(Array.from(result.sum)).toEqual(Array.from(expected));
  });

  it('what the server holds of one device looks uniform mod 2^m (chi-square)', async () => {
    const { setup, masked } = await round(4, 40_000, 4, new Set());
    const y = masked.get(0)!;
    const buckets = 2 ** setup.modulusBits; // 2^6
    const counts = new Array(buckets).fill(0);
    for (const v of y) counts[v]++;
    const expectedCount = y.length / buckets;
    const chi2 = counts.reduce((s, c) => s + (c - expectedCount) ** 2 / expectedCount, 0);
    // 63 degrees of freedom: mean 63, sd 11.2; the input itself is far from uniform (values < 16 only).
    expect(chi2).toBeLessThan(63 + 5 * 11.2);
  });

  it('refuses an input value outside the precision and a second masked input', async () => {
    const setup = setupRound(1, 3, 4, 4, 1);
    const d = new SecAggDevice(setup, 0);
    await d.advertise();
    await expect(d.mask([1, 2, 3, 4])).rejects.toThrow(/share\(\) must run/);
    const server = new SecAggServer(setup);
    expect(() => server.masked(0, new Uint32Array(4))).toThrow(/did not share keys/);
    for (const index of [0, 1]) server.advertised({ index, cPublic: new Uint8Array(65), sPublic: new Uint8Array(65) });
    server.masked(0, new Uint32Array(4));
    expect(() => server.masked(0, new Uint32Array(4))).toThrow(/already/);
    expect(() => server.masked(1, new Uint32Array(4).fill(1 << 20))).toThrow(/below 2\^/);
  });
});

describe('the masked vector on the wire', () => {
  it('packs at exactly m bits a value and reads back the same values', async () => {
    const { packMasked, unpackMasked, maskedBytes } = await import('./wire');
    for (const m of [5, 7, 8, 13, 16, 21, 32]) {
      const y = Uint32Array.from({ length: 1001 }, (_, i) => (i * 2654435761) % 2 ** m);
      y[0] = 2 ** m - 1;
      const bytes = packMasked(y, m);
      expect(bytes.byteLength).toBe(maskedBytes(1001, m));
      expect(bytes.byteLength).toBe(Math.ceil((1001 * m) / 8));
      expect(Array.from(unpackMasked(bytes, m, 1001))).toEqual(Array.from(y));
    }
    expect(() => unpackMasked(new Uint8Array(3), 7, 4)).toThrow(/4 values of 7 bits \(4 bytes\) expected/);
  });
});
