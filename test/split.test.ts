// Split learning over real Socket.IO on loopback (docs/SPLIT.md): three Node device runtimes train
// the front of the tiny U-Net, the aggregator the back; a device that leaves mid-step leaves the
// server's part as its finished steps left it; malformed activation frames are refused and change
// nothing.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeviceEvent,
  FRAME_HEADER_BYTES,
  frameChecksum,
  decodeCut,
  decodeUpdate,
  encodeCut,
  keepMask,
  keptCount,
  splitNoise,
  dropAndPack,
  encodeUpdate,
  frameBytes,
  resolveSplitConfig,
  type Task,
} from '@fedbit/core';
import { Adam, createDevicePart, createServerPart, initBackend, makeSchedule, resolveModelConfig, splitPlan, validateModelConfig, type ModelConfig } from '@fedbit/diffusion';
import type { DeviceProfile, DeviceRuntime } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { SplitServer, type RunningServer } from '@fedbit/server';
import { RawDevice, startTestServer, waitFor } from './helpers';

const PROFILES: DeviceProfile[] = [
  { name: 'phone-a', deviceClass: 'phone', battery: 0.6, charging: false, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.2 },
  { name: 'phone-b', deviceClass: 'phone', battery: 0.7, charging: false, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.2 },
  { name: 'laptop-c', deviceClass: 'laptop', battery: 0.8, charging: true, preference: 'balanced', uplinkBps: 50e6, transmitPowerW: 0.1 },
];

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const finite = (w: Float32Array) => w.every(Number.isFinite);

/** One step's activations made as a device makes them: x_t from fixed images, the front's outputs, dropout, the frame. */
function activations(config: ModelConfig, front: Float32Array, cut: number, step: number, p: number, bits: 8 | 32, n: number) {
  const plan = splitPlan(config, cut);
  const part = createDevicePart(config, cut, front.slice(0, plan.deviceSize));
  const pixels = config.imageSize * config.imageSize * config.channels;
  const noiseSeed = 1000 + step;
  const dropSeed = 2000 + step;
  const eps = splitNoise(noiseSeed, n * pixels);
  const ab = makeSchedule({ kind: 'cosine', steps: 100 }).alphaBars;
  const t = Array.from({ length: n }, (_, i) => (i * 37 + step * 11) % 100);
  const xt = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) for (let j = 0; j < pixels; j++) xt[i * pixels + j] = Math.sqrt(ab[t[i]]) * Math.sin(j + i) + Math.sqrt(1 - ab[t[i]]) * eps[i * pixels + j];
  const x = tf.tensor4d(xt, [n, config.imageSize, config.imageSize, config.channels]);
  const out = part.forward(x, t);
  const flat = new Float32Array(n * plan.crossingPerImage);
  let o = 0;
  for (const tensor of [out.emb, ...out.skips]) {
    const v = tensor.dataSync() as Float32Array;
    flat.set(v, o);
    o += v.length;
  }
  tf.dispose([x, out.emb, ...out.skips]);
  part.dispose();
  const prefix = n * config.embedDim;
  const mask = keepMask(flat.length, prefix, p, dropSeed);
  const packed = dropAndPack(flat, mask, prefix, p);
  return { meta: { round: 0, step, batch: n, dropSeed, noiseSeed }, packed, mask, frame: encodeCut(packed, bits, step, 5), eps };
}

describe('split learning on loopback', () => {
  it('three Node devices in split mode (pruned, 8-bit gradients, activation dropout) complete two rounds; fronts averaged, back trained by the server', async () => {
    const split = { cut: 2, dropout: 0.25, activationBits: 16 as const, gradientBits: 8 as const, keepRatio: 0.5 };
    const server = await startTestServer({ rounds: 2, quorum: 3, policy: { kind: 'fixed', bits: 32 } as never, maxUpdateNormRatio: null, split });
    const initial = Float32Array.from(server.coordinator.global);
    const runtimes: DeviceRuntime[] = PROFILES.map((profile) => simulatedDevice({ url: server.url, joinCode: server.joinCode, profile, runtime: { reconnectDelayMs: 200 } }));
    const errors: string[] = [];
    const uploads: Array<{ runtime: DeviceRuntime; round: number; computeJ: number }> = [];
    for (const r of runtimes) void (async () => {
      for await (const e of r.events) {
        if (e.type === 'error') errors.push(e.message);
        if (e.type === 'uploaded' && e.accepted) uploads.push({ runtime: r, round: e.round, computeJ: e.computeJ });
      }
    })();
    cleanup.push(async () => {
      runtimes.forEach((r) => r.stop());
      await Promise.all(runtimes.map((r) => r.done()));
      await server.close();
    });
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor('two split rounds', () => server.coordinator.completed >= 2, 240_000);
    expect(errors).toEqual([]);

    const splitServer = server.coordinator.split!;
    const { deviceSize } = splitServer.plan;
    const global = Float32Array.from(server.coordinator.global);
    expect(finite(global)).toBe(true);
    // The server's part is the one the split server trained, the front moved too.
    // (global + (server - global) in float32: equal to rounding)
    const back = await splitServer.weights();
    let worst = 0;
    for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(global[deviceSize + i] - back[i]));
    expect(worst).toBeLessThan(1e-7);
    let frontMoved = 0;
    let backMoved = 0;
    for (let i = 0; i < global.length; i++) if (global[i] !== initial[i]) (i < deviceSize ? frontMoved++ : backMoved++);
    expect(frontMoved).toBeGreaterThan(0);
    expect(backMoved).toBeGreaterThan(deviceSize);
    // Pruning to half: every device prunes the same global front, so the averaged front keeps the mask's zeros.
    let zeros = 0;
    for (let i = 0; i < deviceSize; i++) if (global[i] === 0) zeros++;
    expect(zeros).toBeGreaterThanOrEqual(Math.floor(deviceSize * 0.45));

    const summaries = server.coordinator.summaries;
    expect(summaries.map((s) => s.accepted)).toEqual([3, 3]);
    for (const s of summaries) {
      expect(s.loss).not.toBeNull();
      expect(Number.isFinite(s.loss!)).toBe(true);
      // each accepted device's uplink counts its activation frames on top of its update frame
      for (const d of s.devices) expect(d.frameBytes).toBeGreaterThan(2 * 4 * 2 * splitServer.plan.crossingPerImage * 0.5);
    }
    // The device prices its split work as the aggregator does: its part's MACs only.
    await waitFor('every device heard its uploads accepted', () => uploads.length >= 6, 10_000);
    expect(uploads).toHaveLength(6);
    for (const u of uploads) {
      const record = summaries.find((s) => s.round === u.round)!.devices.find((d) => d.deviceId === u.runtime.deviceId)!;
      expect(u.computeJ).toBeCloseTo(record.computeJ, 15);
    }
  }, 300_000);

  it('a device that leaves mid-step leaves the server part as its finished steps made it, and bad frames change nothing', async () => {
    const split = { cut: 1, dropout: 0.5, activationBits: 32 as const, gradientBits: 32 as const, keepRatio: 1 };
    const server = await startTestServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, quorum: 1, localSteps: 4, deadlineS: 30, split });
    const dev = new RawDevice(server.url, server.joinCode);
    cleanup.push(async () => {
      dev.close();
      await server.close();
    });
    const welcome = await dev.join('raw-split');
    const config = validateModelConfig(welcome.model);
    const { task, model } = (await dev.nextTask()) as { task: Task; model: Uint8Array };
    expect(task.split).toEqual(split);
    const splitServer = server.coordinator.split!;
    // the model a split task names is the front only
    expect(() => decodeUpdate(model, { length: welcome.paramCount })).toThrow(/length/);
    const global = decodeUpdate(model, { length: splitServer.plan.deviceSize });
    const w0 = await splitServer.weights();
    const n = task.batchSize;
    const make = (step: number) => {
      const a = activations(config, global, 1, step, split.dropout, 32, n);
      return { ...a, meta: { ...a.meta, round: task.round } };
    };

    // ---- bad frames: each refused with its code, nothing changes ----
    const s1 = make(1);
    const refusedWith = async (payload: unknown, frame: unknown) => {
      const reply = frame === undefined ? await dev.send(DeviceEvent.splitForward, payload) : await dev.send(DeviceEvent.splitForward, payload, frame);
      expect(reply.ok).toBe(false);
      return reply.code as string;
    };
    expect(await refusedWith(s1.meta, undefined)).toBe('schema');
    expect(await refusedWith({ ...s1.meta, step: 3 }, s1.frame)).toBe('unexpected-step');
    expect(await refusedWith({ ...s1.meta, round: task.round + 1 }, s1.frame)).toBe('stale-round');
    expect(await refusedWith({ ...s1.meta, batch: n + 1 }, s1.frame)).toBe('unexpected-step');
    expect(await refusedWith({ ...s1.meta, extra: 1 }, s1.frame)).toBe('schema');
    expect(await refusedWith(s1.meta, encodeCut(s1.packed.subarray(1), 32, 1, 5))).toBe('wrong-length');
    expect(await refusedWith(s1.meta, encodeCut(s1.packed, 8, 1, 5))).toBe('malformed-frame');
    expect(await refusedWith(s1.meta, encodeCut(s1.packed, 32, 2, 5))).toBe('malformed-frame');
    expect(await refusedWith(s1.meta, new Uint8Array(s1.frame.byteLength + 64))).toBe('oversized');
    const nan = s1.frame.slice();
    new DataView(nan.buffer).setFloat32(FRAME_HEADER_BYTES + 8, NaN, true);
    expect(await refusedWith(s1.meta, nan)).toBe('bad-checksum');
    // a NaN under a valid checksum (a sender that reseals its frame)
    new DataView(nan.buffer).setUint32(20, frameChecksum(nan), true);
    expect(await refusedWith(s1.meta, nan)).toBe('bad-value');
    expect(await splitServer.weights()).toEqual(w0);

    // ---- step 1, then step 2: step 1 is kept when step 2 arrives ----
    const r1 = await dev.socket.timeout(30_000).emitWithAck(DeviceEvent.splitForward, s1.meta, s1.frame);
    expect(r1.ok).toBe(true);
    expect(await splitServer.weights()).toEqual(w0); // not kept until the device shows it finished step 1
    const s2 = make(2);
    expect((await dev.send(DeviceEvent.splitForward, s2.meta, s2.frame)).ok).toBe(true);
    const afterStep1 = await splitServer.weights();
    expect(afterStep1).not.toEqual(w0);

    // the reference: the server part from w0, one Adam step on step 1's loss, nothing else
    const plan = splitPlan(config, 1);
    const ref = createServerPart(config, 1, w0);
    const adam = new Adam(ref.variables);
    const n1 = keptCount(s1.mask);
    const full = new Float32Array(s1.mask.length);
    let k = 0;
    for (let i = 0; i < full.length; i++) if (s1.mask[i]) full[i] = decodeCut(s1.frame, { length: n1, bits: 32, step: 1 })[k++];
    const emb = tf.tensor(full.subarray(0, n * config.embedDim), [n, config.embedDim]);
    const skip = tf.tensor(full.subarray(n * config.embedDim), [n, ...plan.crossing[1]]);
    const target = tf.tensor4d(s1.eps, [n, config.imageSize, config.imageSize, config.channels]);
    const step = ref.step({ emb, skips: [skip] }, target);
    adam.applyGradients(step.grads, task.learningRate);
    expect(ref.getWeights()).toEqual(afterStep1);
    tf.dispose([emb, skip, target, step.loss, step.atCut.emb, ...step.atCut.skips, ...Object.values(step.grads)]);
    adam.dispose();
    ref.dispose();

    // ---- the device leaves with step 2 computed but not finished: the server part keeps step 1 only ----
    dev.close();
    await waitFor('the device gone', () => server.coordinator.devices.all().every((d) => d.socketId === null), 10_000);
    const afterLeave = await splitServer.weights();
    expect(afterLeave).toEqual(afterStep1);
    expect(finite(afterLeave)).toBe(true);
  }, 120_000);

  it('a split event in a run that trains the whole model is refused', async () => {
    const server = await startTestServer({ rounds: 1, devicesPerRound: 1, minDevices: 1 });
    const dev = new RawDevice(server.url, server.joinCode);
    cleanup.push(async () => {
      dev.close();
      await server.close();
    });
    await dev.join('raw-full');
    const reply = await dev.send(DeviceEvent.splitForward, { round: 1, step: 1, batch: 4, dropSeed: 1, noiseSeed: 2 }, new Uint8Array(64));
    expect(reply).toMatchObject({ ok: false, code: 'not-split' });
    expect((await dev.send(DeviceEvent.splitEnd, { round: 1, steps: 1 })).code).toBe('not-split');
  }, 60_000);

  /** Runs Node devices with these profiles until `rounds` rounds commit; returns the server and the errors they saw. */
  async function runDevices(overrides: Parameters<typeof startTestServer>[0], profiles: DeviceProfile[], rounds: number) {
    const server = await startTestServer(overrides);
    const runtimes = profiles.map((profile) => simulatedDevice({ url: server.url, joinCode: server.joinCode, profile, runtime: { reconnectDelayMs: 200 } }));
    const errors: string[] = [];
    for (const r of runtimes) void (async () => {
      for await (const e of r.events) if (e.type === 'error') errors.push(e.message);
    })();
    cleanup.push(async () => {
      runtimes.forEach((r) => r.stop());
      await Promise.all(runtimes.map((r) => r.done()));
      await server.close();
    });
    const initial = Float32Array.from(server.coordinator.global);
    await Promise.all(runtimes.map((r) => r.start()));
    await waitFor(`${rounds} rounds`, () => server.coordinator.completed >= rounds, 240_000);
    return { server, errors, initial };
  }

  it('each device keeps the share of its front its speed affords (within the run bounds), and its upload holds that mask', async () => {
    // 2 steps in 60 s x 0.6: about 18 s a step; the front of cut 2 at batch 4 is 8.3 M MACs a step.
    const slow: DeviceProfile = { ...PROFILES[0], name: 'slow-phone', macsPerSecond: 1.4e5 }; // affords about 30%
    const slower: DeviceProfile = { ...PROFILES[1], name: 'mid-phone', macsPerSecond: 3.2e5 }; // about 69%
    const split = { cut: 2, keepRatio: 1, minKeepRatio: 0.25 };
    const { server, errors } = await runDevices({ rounds: 2, devicesPerRound: 2, minDevices: 2, quorum: 2, policy: { kind: 'fixed', bits: 32 } as never, maxUpdateNormRatio: null, split }, [slow, slower], 2);
    expect(errors).toEqual([]);
    const keep = (name: string) => server.coordinator.summaries.map((s) => s.devices.find((d) => d.name === name)!.keepRatio!);
    const [slowKeep, midKeep] = [keep('slow-phone'), keep('mid-phone')];
    for (const k of slowKeep) expect(k).toBeCloseTo(0.3, 1);
    for (const k of midKeep) expect(k).toBeCloseTo(0.69, 1);
    for (const s of server.coordinator.summaries) for (const d of s.devices) expect(d.trainingMode).toBe('split');
    // Both devices prune the same global front by magnitude, so what the one keeping more prunes the other prunes
    // too: those weights are zero in both uploads and in their mean; what only the slow one pruned is not.
    const { deviceSize } = server.coordinator.split!.plan;
    const front = server.coordinator.global.subarray(0, deviceSize);
    let zeros = 0;
    for (const w of front) if (w === 0) zeros++;
    expect(zeros / deviceSize).toBeGreaterThan(1 - midKeep[1] - 0.02);
    expect(zeros / deviceSize).toBeLessThan(1 - slowKeep[1] - 0.1);
  }, 300_000);

  it('split.perDevice: the policy splits a weak phone on a fast link and trains a laptop whole; mixed rounds commit (SplitFedV1)', async () => {
    const phone: DeviceProfile = { name: 'weak-phone', deviceClass: 'phone', battery: 0.8, charging: false, preference: 'balanced', uplinkBps: 100e6, transmitPowerW: 0.2, macsPerSecond: 2e6 };
    const laptop: DeviceProfile = { name: 'laptop', deviceClass: 'laptop', battery: 0.9, charging: true, preference: 'balanced', uplinkBps: 10e6, transmitPowerW: 0.1 };
    const split = { cut: 2, perDevice: true };
    const { server, errors, initial } = await runDevices(
      { rounds: 2, devicesPerRound: 2, minDevices: 2, quorum: 2, batchSize: 8, localSteps: 4, policy: { kind: 'fixed', bits: 32 } as never, maxUpdateNormRatio: null, split },
      [phone, laptop],
      2,
    );
    expect(errors).toEqual([]);
    const summaries = server.coordinator.summaries;
    expect(summaries.map((s) => s.accepted)).toEqual([2, 2]);
    const { deviceSize } = server.coordinator.split!.plan;
    const paramCount = initial.length;
    for (const s of summaries) {
      const p = s.devices.find((d) => d.name === 'weak-phone')!;
      const l = s.devices.find((d) => d.name === 'laptop')!;
      // the phone cannot train the whole model within the deadline (747 M MACs at 2 M/s); the laptop can, and whole costs it less
      expect(p.trainingMode).toBe('split');
      expect(p.modeReason).toMatch(/only split training meets the 60 s deadline/);
      expect(l.trainingMode).toBe('full');
      expect(l.modeReason).toMatch(/full training costs the device less energy/);
      expect(s.uplinkBytesFp32).toBe(frameBytes(32, deviceSize) + frameBytes(32, paramCount));
      // the phone is charged its activations on top of its front's update; the laptop its whole model
      expect(p.frameBytes).toBeGreaterThan(4 * 8 * 6176 * 4);
      expect(l.frameBytes).toBe(frameBytes(32, paramCount));
      expect(l.computeJ).toBeGreaterThan(p.computeJ * 5);
    }
    // the merged model: finite, front and back both moved (the phone's copy of the back and the laptop's back averaged)
    const global = server.coordinator.global;
    expect(global.every(Number.isFinite)).toBe(true);
    let frontMoved = 0;
    let backMoved = 0;
    for (let i = 0; i < global.length; i++) if (global[i] !== initial[i]) (i < deviceSize ? frontMoved++ : backMoved++);
    expect(frontMoved).toBeGreaterThan(deviceSize / 2);
    expect(backMoved).toBeGreaterThan((paramCount - deviceSize) / 2);
  }, 300_000);

  it('SplitFedV1: a split device\'s front and its own copy of the back make one whole-model update, untouched by another device\'s steps', async () => {
    await initBackend('wasm'); // as the aggregator's ModelHost does (the tape's gradients)
    const config = resolveModelConfig('tiny', { imageSize: 16, channels: 1 });
    const plan = splitPlan(config, 1);
    const global = Float32Array.from({ length: plan.deviceSize + plan.serverSize }, (_, i) => Math.sin(i * 0.37) * 0.05);
    const server = new SplitServer(config, resolveSplitConfig({ cut: 1, server: 'per-device' }), global);
    cleanup.push(() => server.dispose());
    const n = 2;
    const lr = 1e-3;
    await server.begin(1, global, [{ deviceId: 'a', steps: 1, batch: n }, { deviceId: 'b', steps: 1, batch: n }], lr);
    const stepA = activations(config, global, 1, 1, 0, 32, n);
    const stepB = activations(config, global.map((w) => w * 1.5), 1, 1, 0, 32, n);
    // b's step runs first and between a's: with one shared back it would move a's
    expect((await server.forward('b', { ...stepB.meta, round: 1 }, stepB.frame)).ack.ok).toBe(true);
    expect((await server.forward('a', { ...stepA.meta, round: 1 }, stepA.frame)).ack.ok).toBe(true);
    expect(server.wholeUpdate('a', new Uint8Array(0), 1, 32, 256)).toMatch(/before split:end/);
    expect((await server.end('b', { round: 1, steps: 1 })).ok).toBe(true);
    expect((await server.end('a', { round: 1, steps: 1 })).ok).toBe(true);
    const frontUpdate = Float32Array.from({ length: plan.deviceSize }, (_, i) => Math.cos(i) * 1e-3);
    const whole = server.wholeUpdate('a', encodeUpdate(frontUpdate, { bits: 32, round: 1 }), 1, 32, 256) as Uint8Array;
    const update = decodeUpdate(whole, { length: global.length, round: 1 });
    expect(update.subarray(0, plan.deviceSize)).toEqual(frontUpdate);
    // the reference: the back from the global model, one Adam step on a's step alone
    const ref = createServerPart(config, 1, global.slice(plan.deviceSize));
    const adam = new Adam(ref.variables);
    const full = unpackAll(stepA);
    const emb = tf.tensor(full.subarray(0, n * config.embedDim), [n, config.embedDim]);
    const skip = tf.tensor(full.subarray(n * config.embedDim), [n, ...plan.crossing[1]]);
    const target = tf.tensor4d(stepA.eps, [n, config.imageSize, config.imageSize, config.channels]);
    const step = ref.step({ emb, skips: [skip] }, target);
    adam.applyGradients(step.grads, lr);
    const expected = ref.getWeights().map((w, i) => w - global[plan.deviceSize + i]);
    expect(update.subarray(plan.deviceSize)).toEqual(expected);
    tf.dispose([emb, skip, target, step.loss, step.atCut.emb, ...step.atCut.skips, ...Object.values(step.grads)]);
    adam.dispose();
    ref.dispose();
  }, 120_000);
});

/** The activations a step's frame carries, back in place (dropout 0: all of them). */
function unpackAll(step: ReturnType<typeof activations>): Float32Array {
  return decodeCut(step.frame, { length: keptCount(step.mask), bits: 32, step: step.meta.step });
}
