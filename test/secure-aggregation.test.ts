// Secure aggregation as a run mode, end to end: a real aggregator and Socket.IO devices on loopback
// that take the four steps with the device runtime's own driver (packages/client/src/secure-round.ts)
// and put known updates on the round's grid, so the committed model can be checked exactly.
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvent, Rng, ddgRoundRdp, decodeDdgMean, decodeGridMean, decodeUpdate, encodeDdg, encodeOnGrid, epsilonOf, type Ack, type DdgPlan, type Grid, type Task } from '@fedbit/core';
import { SecureInbox, listenSecure, runSecureRound, type DeviceProfile, type SecureLink, type SecureRoundResult, type SecureStepName } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { unpackMasked } from '@fedbit/secagg';
import { resolveRunConfig, type RunningServer } from '@fedbit/server';
import { RawDevice, getJson, globalWeights, startTestServer, waitFor } from './helpers';

const servers: RunningServer[] = [];
const devices: RawDevice[] = [];
afterEach(async () => {
  devices.splice(0).forEach((d) => d.close());
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function secureServer(overrides: Record<string, unknown>) {
  const server = await startTestServer({
    policy: { kind: 'fixed', bits: 4 },
    allowedBits: [4, 8],
    eval: { every: 0, final: false, samples: 16, steps: 4 },
    emaDecay: 0,
    ...overrides,
  } as never);
  servers.push(server);
  return server;
}

/** A raw device that answers the secure steps with the runtime's driver; `link.send` can be wrapped to try bad input first. */
class SecureDevice extends RawDevice {
  readonly inbox = new SecureInbox();
  link: SecureLink;
  constructor(url: string, joinCode: string) {
    super(url, joinCode);
    listenSecure(this.socket, this.inbox, (error) => this.refusals.push(error.message));
    this.socket.on('round:cancel', (c: { round: number; reason: string }) => this.inbox.cancel(c.round, c.reason));
    this.link = { inbox: this.inbox, send: (event, payload, data) => (data ? this.send(event, payload, data) : this.send(event, payload)) as Promise<Ack> };
  }
}

/** A device's update for a round: seeded values within the grid's bound, so no clipping. */
function updateOf(length: number, seed: number, bound: number): Float32Array {
  let x = seed * 2654435761;
  return Float32Array.from({ length }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return ((x / 2 ** 32) * 2 - 1) * bound * 0.9;
  });
}

const gridOf = (task: Task): Grid => ({ bits: task.secureAggregation!.gridBits, blockSize: task.blockSize, scales: task.secureAggregation!.scales });

/** Every device trains (here: makes up) its update, puts it on the grid and takes the steps; returns the integer inputs. */
async function playRound(group: SecureDevice[], round: number, after: (i: number) => ((step: SecureStepName) => boolean | void) | undefined = () => undefined) {
  const got = await Promise.all(group.map((d) => d.nextTask()));
  for (const { task } of got) expect(task.round).toBe(round);
  const grid = gridOf(got[0].task);
  const global = decodeUpdate(got[0].model);
  const inputs = got.map(({ task }, i) => encodeOnGrid(updateOf(global.length, round * 100 + i, grid.scales[0] as number), grid, task.bits, task.seed));
  const results = await Promise.allSettled(
    group.map((d, i) =>
      runSecureRound(d.link, { round, input: inputs[i], gridBits: grid.bits, record: { samples: 10, steps: 2, trainMs: 5, loss: 0.5 }, stepTimeoutMs: 20_000, after: after(i) }),
    ),
  );
  return { global, grid, inputs, results, tasks: got.map((g) => g.task) };
}

/** What the aggregator must commit: global + the grid mean of the given inputs, in float32 as the commit adds. */
function expectedModel(global: Float32Array, grid: Grid, inputs: Uint32Array[]): Float32Array {
  const sum = new Uint32Array(global.length);
  for (const q of inputs) for (let i = 0; i < q.length; i++) sum[i] += q[i];
  const mean = decodeGridMean(sum, inputs.length, grid);
  const next = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) next[i] = global[i] + mean[i];
  return next;
}

async function joinAll(server: RunningServer, n: number, prefix: string): Promise<SecureDevice[]> {
  const group = Array.from({ length: n }, () => new SecureDevice(server.url, server.joinCode));
  devices.push(...group);
  await Promise.all(group.map((d, i) => d.join(`${prefix}-${i}`)));
  return group;
}

describe('secure aggregation as a run mode', () => {
  it('5 devices, 2 rounds: the committed model is exactly global + the grid mean of the inputs; bad input is refused and changes nothing; /api/status says so', async () => {
    const server = await secureServer({ rounds: 2, devicesPerRound: 5, minDevices: 5, quorum: 3, secureAggregation: {} });
    const group = await joinAll(server, 5, 'sa');
    const refused: Record<string, Ack> = {};
    const victim = group[0];
    const send = victim.link.send;
    // Device 0 tries bad input before each real message of round 1: every attempt must be refused with its code and leave the round as it was.
    victim.link = {
      inbox: victim.inbox,
      send: async (event, payload, data) => {
        const round = (payload as { round: number }).round;
        if (round === 1 && event === DeviceEvent.secaggAdvertise) {
          refused.outOfOrder = await victim.send(DeviceEvent.secaggMasked, { round }, new Uint8Array(8));
          // (0, 0) is not on the curve: if it were accepted, every neighbor's key agreement would fail.
          refused.offCurve = await victim.send(event, { ...payload, sPublic: 'B' + 'A'.repeat(86) });
          refused.plainUpdate = await victim.send(DeviceEvent.update, { round, samples: 1, steps: 1, trainMs: 1, loss: 0, updateNormSq: 0 }, new Uint8Array(64));
        }
        if (round === 1 && event === DeviceEvent.secaggShare) {
          const to = [...(payload as { to: number[] }).to];
          to[0] = 99;
          refused.stranger = await victim.send(event, { round, to }, data);
          refused.shortShares = await victim.send(event, payload, data!.subarray(0, 10));
        }
        if (round === 1 && event === DeviceEvent.secaggMasked) {
          refused.shortMasked = await victim.send(event, payload, data!.subarray(0, data!.byteLength - 2));
        }
        if (round === 1 && event === DeviceEvent.secaggReveal) {
          const shares = (payload as { shares: Array<{ of: number; kind: string; y: string }> }).shares;
          refused.wrongKind = await victim.send(event, { round, shares: [{ ...shares[0], kind: shares[0].kind === 'b' ? 's' : 'b' }] });
        }
        return send(event, payload, data);
      },
    };
    let masked: SecureRoundResult | null = null;
    for (const round of [1, 2]) {
      const played = await playRound(group, round);
      for (const r of played.results) expect(r.status, String((r as PromiseRejectedResult).reason)).toBe('fulfilled');
      if (round === 1) masked = (played.results[1] as PromiseFulfilledResult<SecureRoundResult>).value;
      // The run's norm bound travels to the devices (half the model's norm, at least 1).
      expect(played.tasks[0].secureAggregation!.clipNorm).toBeGreaterThanOrEqual(1);
      expect(played.tasks[0].errorFeedback).toBe(false);
      await waitFor(`round ${round}`, () => server.coordinator.completed === round, 60_000);
      const committed = await globalWeights(server);
      const expected = expectedModel(played.global, played.grid, played.inputs);
      expect(Array.from(committed).every((v, i) => v === expected[i])).toBe(true);
      // The same as plaintext FedAvg (equal weights) of the dequantized updates, up to float32 rounding.
      const separate = played.inputs.map((q) => decodeGridMean(q, 1, played.grid));
      let worst = 0;
      for (let i = 0; i < committed.length; i++) worst = Math.max(worst, Math.abs(committed[i] - played.global[i] - separate.reduce((s, u) => s + u[i], 0) / 5));
      expect(worst).toBeLessThan(1e-7);
    }
    expect(refused.outOfOrder).toMatchObject({ ok: false, code: 'wrong-step' });
    expect(refused.plainUpdate).toMatchObject({ ok: false, code: 'wrong-step' });
    expect(refused.offCurve).toMatchObject({ ok: false, code: 'bad-value', field: 'sPublic' });
    expect(refused.stranger).toMatchObject({ ok: false, code: 'not-in-round' });
    expect(refused.shortShares).toMatchObject({ ok: false, code: 'wrong-length' });
    expect(refused.shortMasked).toMatchObject({ ok: false, code: 'wrong-length' });
    expect(refused.wrongKind).toMatchObject({ ok: false, code: 'bad-value' });

    // What the aggregator holds of one device: its masked vector, uniform mod 2^m (chi-square), though its input is 4-bit.
    const m = 4 + Math.ceil(Math.log2(5));
    const held = unpackMasked(masked!.masked!, m, server.coordinator.global.length);
    expect(masked!.masked!.byteLength).toBe(Math.ceil((held.length * m) / 8)); // m bits a value on the wire
    const counts = new Array(2 ** m).fill(0);
    for (const v of held) counts[v]++;
    const n = held.length;
    const chi2 = counts.reduce((s, c) => s + (c - n / 2 ** m) ** 2 / (n / 2 ** m), 0);
    const dof = 2 ** m - 1;
    expect(chi2).toBeLessThan(dof + 5 * Math.sqrt(2 * dof));

    const status = await getJson(`${server.url}/api/status`);
    expect(status.body.secureAggregation).toMatchObject({ note: 'secure aggregation on: the server sees only the sum', lastRound: { round: 2, outcome: 'committed', roster: 5, survivors: 5, dropped: 0 } });
  }, 120_000);

  it('6 devices, one drops after sharing keys and one after its masked input: the round commits the exact sum of the 5 inputs that were sent', async () => {
    const server = await secureServer({ rounds: 1, devicesPerRound: 6, minDevices: 6, quorum: 3, secureAggregation: { stepDeadlineS: 10 } });
    const group = await joinAll(server, 6, 'drop');
    const dropAt: Record<number, SecureStepName> = { 2: 'share', 4: 'mask' };
    const played = await playRound(group, 1, (i) =>
      dropAt[i]
        ? (step) => {
            if (step !== dropAt[i]) return true;
            group[i].close();
            return false;
          }
        : undefined,
    );
    await waitFor('round 1', () => server.coordinator.completed === 1, 60_000);
    const sent = played.inputs.filter((_, i) => i !== 2);
    const expected = expectedModel(played.global, played.grid, sent);
    const committed = await globalWeights(server);
    expect(Array.from(committed).every((v, i) => v === expected[i])).toBe(true);
    expect(server.coordinator.snapshot.secure).toMatchObject({ outcome: 'committed', roster: 6, survivors: 5, dropped: 1 });
  }, 120_000);

  it('too many drop: the sum cannot be unmasked, the round is abandoned with the model unchanged, and the next round runs', async () => {
    // Threshold 1: every neighbor's share is needed, so one device lost after masking leaves the others' seeds unrecoverable.
    // Started by hand once all five joined, so that after the abandonment four devices are enough (minDevices 3).
    const server = await secureServer({ rounds: 1, devicesPerRound: 5, minDevices: 3, quorum: 3, autoStart: false, secureAggregation: { threshold: 1, stepDeadlineS: 10 } });
    const group = await joinAll(server, 5, 'many');
    server.coordinator.start();
    const before = await globalWeights(server);
    const first = await playRound(group, 1, (i) =>
      i === 0
        ? (step) => {
            if (step !== 'mask') return true;
            group[0].close();
            return false;
          }
        : undefined,
    );
    await waitFor('round abandoned', () => server.coordinator.snapshot.secure?.outcome === 'abandoned', 60_000);
    expect(first.results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(server.coordinator.completed).toBe(0);
    expect(Array.from(await globalWeights(server))).toEqual(Array.from(before));
    expect(server.coordinator.snapshot.lastRound?.message).toMatch(/could not be unmasked.*model is unchanged/);
    // The four left run round 1 again and commit it.
    const rest = group.slice(1);
    const again = await playRound(rest, 1);
    await waitFor('round 1 again', () => server.coordinator.completed === 1, 60_000);
    const expected = expectedModel(again.global, again.grid, again.inputs);
    expect(Array.from(await globalWeights(server)).every((v, i) => v === expected[i])).toBe(true);
  }, 120_000);

  it('too many drop before masking: fewer masked inputs than the quorum, the round is abandoned and the devices hear why', async () => {
    const server = await secureServer({ rounds: 1, devicesPerRound: 5, minDevices: 5, quorum: 4, secureAggregation: { stepDeadlineS: 10 } });
    const group = await joinAll(server, 5, 'few');
    const before = await globalWeights(server);
    const cancels: string[] = [];
    group[4].socket.on('round:cancel', (c: { reason: string }) => cancels.push(c.reason));
    const played = await playRound(group, 1, (i) =>
      i < 2
        ? (step) => {
            if (step !== 'share') return true;
            group[i].close();
            return false;
          }
        : undefined,
    );
    await waitFor('round abandoned', () => server.coordinator.snapshot.secure?.outcome === 'abandoned', 60_000);
    expect(server.coordinator.snapshot.secure).toMatchObject({ roster: 5, survivors: 3, dropped: 2 });
    expect(server.coordinator.snapshot.lastRound?.message).toMatch(/3 of 5 devices sent their masked input, 4 needed.*model is unchanged/);
    expect(Array.from(await globalWeights(server))).toEqual(Array.from(before));
    await waitFor('the cancel', () => cancels.length > 0, 10_000);
    expect(cancels[0]).toMatch(/abandoned/);
    // The three that sent their masked input were waiting for the unmask request: their wait ends with the reason.
    expect(played.results.slice(2).every((r) => r.status === 'rejected' && /abandoned/.test(String(r.reason)))).toBe(true);
  }, 60_000);

  it('refuses secure aggregation with what it cannot be combined with, naming each', () => {
    const base = { secureAggregation: {}, allowedBits: [4, 8], quorum: 2 };
    expect(() => resolveRunConfig({ ...base, mode: 'async' })).toThrow(/secureAggregation cannot be combined with "mode": "async"/);
    expect(() => resolveRunConfig({ ...base, aggregation: { rule: 'median' } })).toThrow(/median rule/);
    expect(() => resolveRunConfig({ ...base, clipNorm: 1 })).toThrow(/"clipNorm".*the device clips instead/);
    expect(resolveRunConfig({ ...base, privacy: { noiseMultiplier: 1, clipNorm: 1 } }).privacy).toMatchObject({ noiseMultiplier: 1, clipNorm: 1 });
    expect(() => resolveRunConfig({ secureAggregation: {}, quorum: 2 })).toThrow(/allowedBits with 32/);
    expect(() => resolveRunConfig({ ...base, quorum: 1 })).toThrow(/"quorum": 1/);
    expect(resolveRunConfig(base).secureAggregation).toEqual({ threshold: 0.4, stepDeadlineS: 30, bound: null, headroom: 4 });
  });
});

/** A seeded source with 53 random bits a draw (the runtime's is cryptographic; a test's must be repeatable). */
function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => ((rng.nextUint32() >>> 5) * 67108864 + (rng.nextUint32() >>> 6)) / 9007199254740992;
}

const planOf = (task: Task, length: number): DdgPlan => ({ ...task.secureAggregation!.dp!, length });

describe('secure aggregation with distributed discrete Gaussian noise (privacy on)', () => {
  const privacy = { noiseMultiplier: 0.5, clipNorm: 1 };

  it('5 devices: the round commits the clipped mean plus noise of the planned scale; the aggregator holds only masked noisy vectors; epsilon matches the accountant in the summary, /api/status and /metrics', async () => {
    const server = await secureServer({ rounds: 1, devicesPerRound: 5, minDevices: 5, quorum: 3, secureAggregation: {}, privacy });
    const group = await joinAll(server, 5, 'dp');
    const sentBytes: Uint8Array[][] = group.map(() => []);
    group.forEach((d, i) => {
      const send = d.link.send;
      d.link = { inbox: d.inbox, send: (event, payload, data) => (data && sentBytes[i].push(new Uint8Array(data)), send(event, payload, data)) };
    });
    const got = await Promise.all(group.map((d) => d.nextTask()));
    const global = decodeUpdate(got[0].model);
    const d = global.length;
    const dp = got[0].task.secureAggregation!.dp!;
    // Planned for max(quorum 3, ceil(0.7 x 5) = 4) senders; the grid's scales are not sent.
    expect(dp.minSenders).toBe(4);
    expect(got[0].task.secureAggregation!.scales).toEqual([]);
    // The round's rotation (privacy.rotation, on by default): one seed for every device of the round.
    expect(Number.isInteger(dp.rotationSeed)).toBe(true);
    expect(got.every((g) => g.task.secureAggregation!.dp!.rotationSeed === dp.rotationSeed)).toBe(true);
    const plan = planOf(got[0].task, d);
    // Updates of norm about 1.6, so every one is clipped to C = 1.
    const updates = got.map((_, k) => updateOf(d, 50 + k, 0.01));
    const clean = updates.map((u) => encodeDdg(u, { ...plan, localSigma: 1e-9 }, seeded(900))); // the rounding alone, no noise
    const inputs = updates.map((u, k) => encodeDdg(u, plan, seeded(700 + k)));
    const results = await Promise.allSettled(
      group.map((dev, i) => runSecureRound(dev.link, { round: 1, input: inputs[i], gridBits: plan.modulusBits, dp: { modulusBits: plan.modulusBits, minSenders: plan.minSenders }, record: { samples: 10, steps: 2, trainMs: 5, loss: 0.5 }, stepTimeoutMs: 20_000 })),
    );
    for (const r of results) expect(r.status, String((r as PromiseRejectedResult).reason)).toBe('fulfilled');
    await waitFor('round 1', () => server.coordinator.completed === 1, 60_000);

    // Exactly global + the rotation undone on gamma x (the signed sum of the noisy inputs) / 5.
    const committed = await globalWeights(server);
    const sum = new Uint32Array(d);
    for (const q of inputs) for (let i = 0; i < d; i++) sum[i] = (sum[i] + q[i]) % 2 ** plan.modulusBits;
    const decoded = decodeDdgMean(sum, 5, plan);
    expect(Array.from(committed).every((v, i) => v === Math.fround(global[i] + decoded[i]))).toBe(true);
    // Against the plaintext clipped mean: the difference is the summed noise, variance 5 localSigma^2 gamma^2 / 25 (rounding adds under 1e-5 of it).
    let bias = 0;
    let sq = 0;
    const norms = updates.map((u) => Math.sqrt(u.reduce((a, v) => a + v * v, 0)));
    expect(Math.min(...norms)).toBeGreaterThan(1.2);
    for (let i = 0; i < d; i++) {
      let clippedMean = 0;
      for (let k = 0; k < 5; k++) clippedMean += updates[k][i] / norms[k] / 5;
      const e = committed[i] - global[i] - clippedMean;
      bias += e;
      sq += e * e;
    }
    const expected = (5 * plan.localSigma ** 2 * plan.gamma ** 2) / 25;
    expect(Math.abs(bias / d)).toBeLessThan(5 * Math.sqrt(expected / d));
    expect(sq / d / expected).toBeGreaterThan(0.95);
    expect(sq / d / expected).toBeLessThan(1.05);
    // The summed noise is z C sqrt(5 / 4) in the update's units: as planned for 4, more with 5.
    expect(Math.sqrt(5) * plan.localSigma * plan.gamma).toBeCloseTo(0.5 * Math.sqrt(5 / 4), 9);

    // What each device sent as bytes: sealed shares and its masked vector, never its input, noisy or not.
    const m = plan.modulusBits;
    for (const [k, sent] of sentBytes.entries()) {
      const masked = sent.find((b) => b.byteLength === Math.ceil((d * m) / 8))!;
      const held = unpackMasked(masked, m, d);
      expect(held.some((v, i) => v !== inputs[k][i])).toBe(true);
      expect(held.filter((v, i) => v === clean[k][i]).length).toBeLessThan(d / 100);
      // Uniform modulo 2^m: chi-square over the top 4 bits.
      const counts = new Array(16).fill(0);
      for (const v of held) counts[Math.floor(v / 2 ** (m - 4))]++;
      const chi2 = counts.reduce((a, c) => a + (c - d / 16) ** 2 / (d / 16), 0);
      expect(chi2).toBeLessThan(15 + 5 * Math.sqrt(30));
    }

    // The accountant: one round, every eligible device selected (q = 1), the noise of the 5 that sent.
    const want = epsilonOf(ddgRoundRdp(1, { localSigma: plan.localSigma, delta2: plan.delta2, length: d, senders: 5 }), 1e-5).epsilon;
    expect(server.coordinator.summaries[0].epsilon).toBeCloseTo(want, 9);
    const status = await getJson(`${server.url}/api/status`);
    expect(status.body.privacy).toMatchObject({ mechanism: 'distributed', survival: 0.7, rotation: true, noiseMultiplier: 0.5, clipNorm: 1 });
    expect(status.body.privacy.epsilon).toBeCloseTo(want, 9);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/^fedbit_privacy_epsilon (\S+)$/m.exec(metrics)?.[1])).toBeCloseTo(want, 6);
  }, 120_000);

  it('fewer senders than the noise was planned for: the sum is not unmasked, the devices do not reveal, no privacy is spent', async () => {
    const server = await secureServer({ rounds: 1, devicesPerRound: 5, minDevices: 5, quorum: 3, secureAggregation: { stepDeadlineS: 10 }, privacy: { ...privacy, survival: 1 } });
    const group = await joinAll(server, 5, 'few-dp');
    const before = await globalWeights(server);
    const got = await Promise.all(group.map((dev) => dev.nextTask()));
    const plan = planOf(got[0].task, before.length);
    expect(plan.minSenders).toBe(5);
    const results = await Promise.allSettled(
      group.map((dev, i) =>
        runSecureRound(dev.link, {
          round: 1,
          input: encodeDdg(updateOf(before.length, i, 0.01), plan, seeded(i)),
          gridBits: plan.modulusBits,
          dp: { modulusBits: plan.modulusBits, minSenders: plan.minSenders },
          record: { samples: 10, steps: 2, trainMs: 5, loss: 0.5 },
          stepTimeoutMs: 20_000,
          // Device 0 leaves after sharing its keys: 4 masked inputs, the noise of 4 where 5 were planned.
          after: i === 0 ? (step) => (step === 'share' ? (group[0].close(), false) : true) : undefined,
        }),
      ),
    );
    await waitFor('round abandoned', () => server.coordinator.snapshot.secure?.outcome === 'abandoned', 60_000);
    expect(server.coordinator.snapshot.lastRound?.message).toMatch(/4 of 5 devices sent their masked input; the privacy noise is planned for at least 5, so the sum is not unmasked/);
    expect(server.coordinator.completed).toBe(0);
    expect(Array.from(await globalWeights(server))).toEqual(Array.from(before));
    expect((await getJson(`${server.url}/api/status`)).body.privacy.epsilon).toBeNull();
    expect(results.slice(1).every((r) => r.status === 'rejected' && /abandoned/.test(String(r.reason)))).toBe(true);
  }, 60_000);

  it('refuses privacy settings that cannot combine, naming them', () => {
    expect(() => resolveRunConfig({ privacy: { ...privacy, survival: 0.8 } })).toThrow(/privacy.survival .* under secureAggregation only/);
    expect(() => resolveRunConfig({ privacy: { ...privacy, rotation: false } })).toThrow(/privacy.rotation .* under secureAggregation only/);
    expect(() => resolveRunConfig({ secureAggregation: {}, allowedBits: [4, 8], quorum: 2, privacy: { ...privacy, rotation: 'yes' } })).toThrow(/rotation/);
    expect(() => resolveRunConfig({ secureAggregation: {}, allowedBits: [4, 8], quorum: 2, clipNorm: 1, privacy })).toThrow(/"clipNorm"/);
    expect(() => resolveRunConfig({ secureAggregation: {}, allowedBits: [4, 8], quorum: 2, privacy: { ...privacy, survival: 1.5 } })).toThrow(/survival/);
  });
});

describe('secure aggregation with the device runtime', () => {
  it.each([
    ['on the grid', {}],
    ['with distributed discrete Gaussian noise (privacy on)', { privacy: { noiseMultiplier: 0.05, clipNorm: 1 } }],
  ])('three Node devices train the tiny model, put their updates %s and commit two secure rounds', async (_, extra) => {
    const server = await secureServer({ rounds: 2, devicesPerRound: 3, minDevices: 3, quorum: 2, policy: { kind: 'on-demand' }, allowedBits: [2, 4, 8], secureAggregation: {}, ...extra });
    const profiles: DeviceProfile[] = [
      { name: 'desktop', deviceClass: 'desktop', battery: null, charging: null, preference: 'best-quality', uplinkBps: 100e6, transmitPowerW: 0.1 },
      { name: 'phone', deviceClass: 'phone', battery: 0.3, charging: false, preference: 'save-battery', uplinkBps: 2e6, transmitPowerW: 0.2 },
      { name: 'laptop', deviceClass: 'laptop', battery: 0.8, charging: true, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 },
    ];
    const runtimes = profiles.map((profile) => simulatedDevice({ url: server.url, joinCode: server.joinCode, profile, runtime: { reconnectDelayMs: 200 } }));
    const uploads: Array<{ accepted: boolean; bytes: number; reason?: string }> = [];
    for (const r of runtimes) void (async () => {
      for await (const e of r.events) if (e.type === 'uploaded') uploads.push({ accepted: e.accepted, bytes: e.bytes, reason: e.reason });
    })();
    const before = await globalWeights(server);
    try {
      await Promise.all(runtimes.map((r) => r.start()));
      await waitFor('two secure rounds', () => server.coordinator.completed >= 2, 170_000);
      expect(uploads.filter((u) => u.accepted)).toHaveLength(6);
      for (const summary of server.coordinator.summaries) expect(summary.accepted).toBe(3);
      expect(server.coordinator.snapshot.secure).toMatchObject({ round: 2, outcome: 'committed', survivors: 3, dropped: 0 });
      // Every device sent its keys, shares, masked vector (m bits a value) and reveals.
      for (const u of uploads) expect(u.bytes).toBeGreaterThan(before.length / 2);
      const after = await globalWeights(server);
      expect(after.some((v, i) => v !== before[i])).toBe(true);
      expect(after.every(Number.isFinite)).toBe(true);
      // With privacy: epsilon after each round, growing.
      const epsilons = server.coordinator.summaries.map((x) => x.epsilon);
      if ('privacy' in extra) {
        expect(epsilons[1]!).toBeGreaterThan(epsilons[0]!);
        // The devices' noise is in the model: two rounds of summed noise of sd z C = 0.05 over 3 senders
        // give sd 0.05 sqrt(2) / 3 = 0.0236 per weight; the trained updates (norm <= 1) add at most 0.0036.
        const rms = Math.sqrt(after.reduce((a, v, i) => a + (v - before[i]) ** 2, 0) / after.length);
        expect(rms).toBeGreaterThan(0.0236 * 0.95);
        expect(rms).toBeLessThan(Math.hypot(0.0236, 2 * 0.0036) * 1.05);
      } else expect(epsilons).toEqual([undefined, undefined]);
    } finally {
      runtimes.forEach((r) => r.stop());
      await Promise.all(runtimes.map((r) => r.done()));
    }
  }, 180_000);
});
