// The secure-aggregation steps on the wire (docs/PROTOCOL.md, "Secure aggregation"): what a device
// sends in each of the four steps and what the aggregator sends it, checked with these schemas on
// both sides. Keys and shares travel as base64url text; sealed shares and masked vectors as binary
// attachments whose sizes the payload announces. The cryptography is packages/secagg's.
import { z } from 'zod';

/** An uncompressed P-256 point (65 bytes) in base64url without padding. */
const point = () => z.string().regex(/^B[A-Za-z0-9_-]{86}$/, 'an uncompressed P-256 point: 65 bytes in base64url (87 characters, starting "B")');
/** A Shamir share value over GF(2^521 - 1): 66 bytes in base64url without padding. */
const shareValue = () => z.string().regex(/^[A-Za-z0-9_-]{88}$/, 'a share value: 66 bytes in base64url (88 characters)');
const index = () => z.number().int().nonnegative().max(100_000);
const round = () => z.number().int().positive();

/** Step 1, after training: the device's two public keys and what the round's records need (no update statistics: they would leak). */
export const SecAggAdvertiseSchema = z
  .object({
    round: round(),
    /** The key shares are sealed with (c). */
    cPublic: point(),
    /** The key pairwise masks are agreed with (s). */
    sPublic: point(),
    samples: z.number().int().positive().max(1e8),
    steps: z.number().int().positive().max(1e6),
    trainMs: z.number().nonnegative().max(3.6e6),
    loss: z.number().refine(Number.isFinite, 'must be a finite number'),
  })
  .strict();

/** Step 2: one sealed bundle per neighbor, in the binary attachment in the order of `to`. */
export const SecAggShareSchema = z
  .object({
    round: round(),
    /** The roster indices the bundles are for: exactly this device's neighbors. */
    to: z.array(index()).min(1).max(10_000),
  })
  .strict();

/** Step 3: the masked vector, in the binary attachment, packed at modulusBits bits a value (packages/secagg/src/wire.ts). */
export const SecAggMaskedSchema = z.object({ round: round() }).strict();

/** Step 4: per neighbor whose bundle this device holds, the share of its self-mask seed (it sent a masked input) or of its mask key (it did not). */
export const SecAggRevealSchema = z
  .object({
    round: round(),
    shares: z
      .array(z.object({ of: index(), kind: z.enum(['b', 's']), y: shareValue() }).strict())
      .max(10_000),
  })
  .strict();

/** To each device that advertised: its place in the round and its neighbors' public keys. */
export const SecAggRosterSchema = z.object({
  round: round(),
  index: index(),
  /** Devices in the roster. */
  n: z.number().int().min(2),
  graphSeed: z.number().int().nonnegative(),
  /** Shares needed to rebuild a secret, and the neighbors per device (n - 1: everyone). */
  threshold: z.number().int().min(1),
  degree: z.number().int().min(1),
  /** Mask modulus 2^modulusBits; the inputs are on the task's grid (gridBits). */
  modulusBits: z.number().int().min(2).max(32),
  length: z.number().int().positive(),
  neighbors: z.array(z.object({ index: index(), cPublic: point(), sPublic: point() })),
});

/** To each device that shared: the bundles its neighbors sealed for it (binary, in the order of `from`) and who shared (only they are masked with). */
export const SecAggSharesSchema = z.object({
  round: round(),
  from: z.array(index()),
  active: z.array(index()),
});

/** To each device that sent its masked input: who did. */
export const SecAggUnmaskSchema = z.object({ round: round(), senders: z.array(index()) });

/** In a task of a secure round: the common grid (core/quant/grid.ts) the device encodes its update on. */
export const SecAggTaskSchema = z.object({
  gridBits: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16)]),
  /** Per block of the task's blockSize: the scale each value is clipped to. */
  scales: z.array(z.number().positive().refine(Number.isFinite, 'must be finite')),
  /** The run's norm bound, applied by the device (the aggregator never sees its update): the update is scaled to at most this L2 norm before it goes on the grid. Absent: no bound. */
  clipNorm: z.number().positive().refine(Number.isFinite, 'must be finite').optional(),
  /** Seconds each step after training may take before the aggregator goes on without the late. */
  stepDeadlineS: z.number().positive(),
  /**
   * Differential privacy under secure aggregation (core/privacy/ddg.ts): the device clips its update
   * to clipNorm, rounds it to integers of gamma, adds discrete Gaussian noise of localSigma integer
   * steps and sends it modulo 2^modulusBits instead of putting it on the grid (rotated first by the
   * round's rotation when rotationSeed is given); it reveals nothing
   * when fewer than minSenders devices sent (the noise is planned for at least that many).
   */
  dp: z
    .object({
      clipNorm: z.number().positive().refine(Number.isFinite, 'must be finite'),
      gamma: z.number().positive().refine(Number.isFinite, 'must be finite'),
      localSigma: z.number().positive().refine(Number.isFinite, 'must be finite'),
      delta2: z.number().positive().refine(Number.isFinite, 'must be finite'),
      minSenders: z.number().int().min(2),
      modulusBits: z.number().int().min(2).max(32),
      /** The round's rotation (core/privacy/rotation.ts): the device flattens its update with it before rounding. Absent: no rotation. */
      rotationSeed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    })
    .optional(),
});

export type SecAggAdvertise = z.infer<typeof SecAggAdvertiseSchema>;
export type SecAggShare = z.infer<typeof SecAggShareSchema>;
export type SecAggMasked = z.infer<typeof SecAggMaskedSchema>;
export type SecAggReveal = z.infer<typeof SecAggRevealSchema>;
export type SecAggRoster = z.infer<typeof SecAggRosterSchema>;
export type SecAggShares = z.infer<typeof SecAggSharesSchema>;
export type SecAggUnmask = z.infer<typeof SecAggUnmaskSchema>;
export type SecAggTask = z.infer<typeof SecAggTaskSchema>;
