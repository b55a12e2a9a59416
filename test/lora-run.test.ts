// LoRA fine-tuning runs (docs/LORA.md) over real Socket.IO on loopback: a real aggregator whose
// global state is the adapter vector over a frozen base, real Node device runtimes that fetch the
// base once, train only the adapters on wasm and upload the adapter update through the codec.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEvent, basePath, decodeUpdate, encodeUpdate, frameBytes, mergeFedIt, mergeFfaLora, readFrameHeader, type UpdateMeta } from '@fedbit/core';
import type { DeviceProfile, DeviceRuntime } from '@fedbit/client';
import { simulatedDevice } from '@fedbit/client/node';
import { loraLayout } from '@fedbit/diffusion';
import { resolveRunConfig, startServer, type RunningServer } from '@fedbit/server';
import { pino } from 'pino';
import { RawDevice, fastConfig, getJson, maxRelativeError, startTestServer, tmpRunDir, waitFor } from './helpers';

const PROFILES: DeviceProfile[] = [
  { name: 'desktop-a', deviceClass: 'desktop', battery: null, charging: null, preference: 'best-quality', uplinkBps: 100e6, transmitPowerW: 0.1 },
  { name: 'phone-b', deviceClass: 'phone', battery: 0.3, charging: false, preference: 'save-battery', uplinkBps: 2e6, transmitPowerW: 0.2 },
  { name: 'laptop-c', deviceClass: 'laptop', battery: 0.8, charging: true, preference: 'balanced', uplinkBps: 20e6, transmitPowerW: 0.1 },
];

const FFA = { lora: { base: 'random', rank: 4, method: 'ffa-lora' as const } };

function device(server: RunningServer, profile: DeviceProfile): DeviceRuntime {
  return simulatedDevice({ url: server.url, joinCode: server.joinCode, profile, runtime: { reconnectDelayMs: 200 } });
}

/** Every update frame the aggregator receives, and the adapter vector each task named. */
function tap(server: RunningServer) {
  const updates: Array<{ deviceId: string; meta: UpdateMeta; frame: Uint8Array }> = [];
  const models = new Map<number, Uint8Array>();
  server.io.on('connection', (socket) => {
    socket.use(([event, meta, frame], next) => {
      if (event === DeviceEvent.update && frame instanceof Uint8Array) {
        const dev = server.coordinator.devices.all().find((d) => d.socketId === socket.id);
        if (dev) updates.push({ deviceId: dev.id, meta: meta as UpdateMeta, frame: new Uint8Array(frame) });
      }
      next();
    });
  });
  const transport = server.coordinator.transport;
  const send = transport.sendTask.bind(transport);
  transport.sendTask = (d, task) => {
    models.set(task.round, server.coordinator.models.get(task.model.version)!.frame);
    send(d, task);
  };
  return { updates, models };
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function runDevices(server: RunningServer, rounds: number): Promise<void> {
  const runtimes = PROFILES.map((p) => device(server, p));
  cleanup.push(async () => {
    runtimes.forEach((r) => r.stop());
    await Promise.all(runtimes.map((r) => r.done()));
  });
  await Promise.all(runtimes.map((r) => r.start()));
  await waitFor(`${rounds} rounds`, () => server.coordinator.completed >= rounds);
}

/** Checks each committed round: global after = global before + the method's merge of the decoded frames (shard-size weights). */
function expectExactMerge(server: RunningServer, tapped: ReturnType<typeof tap>, rounds: number): void {
  const layoutLength = server.host.lora!.trainableLength;
  const method = server.host.lora!.method;
  for (let round = 1; round <= rounds; round++) {
    const summary = server.coordinator.summaries.find((s) => s.round === round)!;
    const accepted = summary.devices.filter((d) => d.status === 'accepted');
    expect(accepted.length).toBe(3);
    const before = decodeUpdate(tapped.models.get(round)!);
    expect(before.length).toBe(layoutLength);
    const deltas: Float32Array[] = [];
    const weights: number[] = [];
    for (const record of accepted) {
      const frames = tapped.updates.filter((u) => u.deviceId === record.deviceId && u.meta.round === round);
      expect(frames).toHaveLength(1);
      // The uplink frame is the adapter's size: its element count is the adapter vector's, and its bytes are those of that many values at its bits.
      const header = readFrameHeader(frames[0].frame);
      expect(header.length).toBe(layoutLength);
      expect(frames[0].frame.byteLength).toBe(frameBytes(header.bits, layoutLength, server.coordinator.config.codec.blockSize));
      deltas.push(decodeUpdate(frames[0].frame));
      weights.push(server.host.shardSizes[server.coordinator.devices.get(record.deviceId)!.shard]);
    }
    // Core's merge of the frames as received: FFA-LoRA's (exact) or FedIT's (A and B averaged separately).
    const layout = { method, trainableLength: layoutLength } as Parameters<typeof mergeFfaLora>[0];
    const mean = method === 'ffa-lora' ? mergeFfaLora(layout, deltas, weights) : mergeFedIt(layout, deltas, weights);
    const expected = before.map((v, i) => v + mean[i]);
    const after = round === rounds ? server.coordinator.global : decodeUpdate(tapped.models.get(round + 1)!);
    expect(maxRelativeError(after, expected)).toBeLessThan(1e-6);
    if (method === 'ffa-lora') {
      // Exact in the model, not only in B: the merged adapter's effective model is the weighted mean of the devices' effective models.
      const total = weights.reduce((a, b) => a + b, 0);
      const meanModel = new Float64Array(server.host.modelParamCount);
      deltas.forEach((d, k) => {
        const model = server.host.effectiveWeights(before.map((v, i) => v + d[i]));
        for (let i = 0; i < model.length; i++) meanModel[i] += (weights[k] / total) * model[i];
      });
      expect(maxRelativeError(server.host.effectiveWeights(after), meanModel)).toBeLessThan(1e-5);
    }
  }
}

describe('LoRA fine-tuning runs on loopback', () => {
  it('FFA-LoRA: three devices, two rounds; the global adapter is the exact weighted mean, the base never changes, only the adapter goes up', async () => {
    const server = await startTestServer({ rounds: 2, ...FFA, policy: { kind: 'on-demand' } as never });
    cleanup.push(() => server.close());
    const tapped = tap(server);
    const lora = server.host.lora!;
    const base = server.host.base!;
    const baseBefore = base.weights.slice();
    // The base is served once per run, at 16 bits, and its SHA-256 is what the welcome names.
    const baseResponse = await fetch(new URL(basePath({ sha256: lora.base.frameSha256 }), server.url));
    expect(baseResponse.status).toBe(200);
    const baseFrame = new Uint8Array(await baseResponse.arrayBuffer());
    expect(baseFrame.byteLength).toBe(lora.base.bytes);
    expect(readFrameHeader(baseFrame).bits).toBe(16);
    expect(readFrameHeader(baseFrame).length).toBe(server.host.modelParamCount);
    expect(lora.trainableLength).toBeLessThan(server.host.modelParamCount / 20);

    await runDevices(server, 2);
    expectExactMerge(server, tapped, 2);

    // The base never changes: the served frame, the host's copy, and what the effective model is built on.
    expect(server.host.base!.weights).toEqual(baseBefore);
    const again = new Uint8Array(await (await fetch(new URL(basePath({ sha256: lora.base.frameSha256 }), server.url))).arrayBuffer());
    expect(again).toEqual(baseFrame);
    // The effective model moved off the base by the adapters alone: with the adapters at their init it is the base at 8 bits.
    const atInit = server.host.effectiveWeights(server.host.initialWeights());
    const now = server.host.effectiveWeights(server.coordinator.global);
    expect(now.length).toBe(server.host.modelParamCount);
    expect(maxRelativeError(now, atInit)).toBeGreaterThan(0);
    // The published model is the effective one (the EMA of the adapters folded into the base).
    const published = new Float32Array(await (await fetch(`${server.url}/api/model/weights.bin`)).arrayBuffer());
    expect(published).toEqual(server.host.effectiveWeights(server.coordinator.samplingWeights));

    // Accounting: uplink is adapter frames; what 32-bit full fine-tuning would send is in the status.
    const status = (await getJson(`${server.url}/api/status`)).body;
    expect(status.lora).toMatchObject({ base: 'random', method: 'ffa-lora', rank: 4, adapterParams: lora.trainableLength, modelParams: server.host.modelParamCount });
    expect(status.lora.fullFrameBytes32 / status.lora.adapterFrameBytes32).toBeGreaterThan(20);
    const s1 = server.coordinator.summaries[0];
    expect(s1.uplinkBytes).toBeLessThanOrEqual(3 * status.lora.adapterFrameBytes32);
    // Each device fetches the base once (charged with its first task) and per round only the adapter vector.
    expect(s1.downlinkBytes).toBe(3 * (tapped.models.get(1)!.byteLength + lora.base.bytes));
    const s2 = server.coordinator.summaries[1];
    expect(s2.downlinkBytes).toBe(3 * tapped.models.get(2)!.byteLength);
    // ... and its receive energy with it: the first round's records charge the base, the second's do not.
    const perBit = server.coordinator.config.energy.receiveEnergyPerBitJ;
    for (const d of s1.devices) expect(d.receiveJ).toBeCloseTo((tapped.models.get(1)!.byteLength + lora.base.bytes) * 8 * perBit, 12);
    for (const d of s2.devices) expect(d.receiveJ).toBeCloseTo(tapped.models.get(2)!.byteLength * 8 * perBit, 12);
    expect(tapped.models.get(1)!.byteLength).toBe(frameBytes(32, lora.trainableLength, server.coordinator.config.codec.blockSize));

    // Samples before (the base alone) and after are in the run directory and over HTTP.
    expect(existsSync(join(server.runDir, 'samples-base.png'))).toBe(true);
    expect(existsSync(join(server.runDir, 'samples.png'))).toBe(true);
    const png = new Uint8Array(await (await fetch(`${server.url}/api/samples/base`)).arrayBuffer());
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(Buffer.from(png).equals(readFileSync(join(server.runDir, 'samples-base.png')))).toBe(true);
  });

  it('FedIT: one round; the global [A | B] is the weighted mean of the devices\' vectors (the baseline, not exact)', async () => {
    const server = await startTestServer({ rounds: 1, lora: { base: 'random', rank: 2, method: 'fedit' }, policy: { kind: 'fixed', bits: 8 } as never });
    cleanup.push(() => server.close());
    const tapped = tap(server);
    const lora = server.host.lora!;
    expect(lora.method).toBe('fedit');
    await runDevices(server, 1);
    expectExactMerge(server, tapped, 1);
    // FedIT trains A too: the A block (first in the vector) moved off the shared init.
    const init = server.host.initialWeights();
    const { aLength } = loraLayout(server.host.modelConfig, { rank: lora.rank, method: 'fedit', seed: lora.seed });
    expect(lora.trainableLength).toBeGreaterThan(aLength);
    const global = server.coordinator.global;
    let moved = 0;
    for (let i = 0; i < aLength; i++) moved = Math.max(moved, Math.abs(global[i] - init[i]));
    expect(moved).toBeGreaterThan(0);
  });

  it('buffered async mode: adapter updates become new versions of the adapter vector', async () => {
    const server = await startTestServer({ rounds: 2, mode: 'async', async: { buffer: 2, maxStaleness: 4 }, quorum: 1, ...FFA, policy: { kind: 'fixed', bits: 8 } as never });
    cleanup.push(() => server.close());
    const tapped = tap(server);
    await runDevices(server, 2);
    expect(server.coordinator.global.length).toBe(server.host.lora!.trainableLength);
    expect(server.coordinator.global.some((v) => v !== 0)).toBe(true);
    for (const u of tapped.updates) expect(readFrameHeader(u.frame).length).toBe(server.host.lora!.trainableLength);
    expect(server.coordinator.summaries.every((s) => s.accepted === 2)).toBe(true);
  });
});

describe('LoRA runs refuse bad input and change nothing', () => {
  it('an adapter frame of the wrong length and a full-model frame are refused with a code; the global adapter is untouched', async () => {
    const server = await startTestServer({ rounds: 1, devicesPerRound: 1, minDevices: 1, ...FFA, policy: { kind: 'fixed', bits: 8 } as never });
    cleanup.push(() => server.close());
    const raw = new RawDevice(server.url, server.joinCode);
    cleanup.push(() => raw.close());
    const welcome = await raw.join('raw');
    expect(welcome.lora).toMatchObject({ method: 'ffa-lora', trainableLength: server.host.paramCount });
    const { task } = await raw.nextTask();
    expect(task.lora).toBe(true);
    const before = Float32Array.from(server.coordinator.global);
    const meta = { round: task.round, samples: 10, steps: 1, trainMs: 1, loss: 0.5, updateNormSq: 0.01 };
    const n = server.host.paramCount;

    const short = encodeUpdate(new Float32Array(n - 1), { bits: 8, round: task.round });
    const shortReply = await raw.send(DeviceEvent.update, meta, short);
    expect(shortReply).toMatchObject({ ok: false, code: 'wrong-length' });
    expect(shortReply.reason).toMatch(new RegExp(`frame holds ${n - 1} values; this LoRA run's update \\(the ffa-lora adapter vector, ${n} values`));

    const full = encodeUpdate(new Float32Array(server.host.modelParamCount), { bits: 8, round: task.round });
    const fullReply = await raw.send(DeviceEvent.update, meta, full);
    expect(fullReply.ok).toBe(false);
    expect(['oversized', 'wrong-length']).toContain(fullReply.code);
    expect(fullReply.reason).toMatch(/LoRA run's update .* a full-model update is not merged/);

    expect(server.coordinator.global).toEqual(before);
    expect(server.coordinator.currentRound?.received).toBe(0);

    // The base's resource: a wrong hash or a malformed path is refused with the reason; a repeat with its ETag is a 304.
    const right = basePath({ sha256: welcome.lora!.base.frameSha256 });
    const wrong = await getJson(new URL(basePath({ sha256: 'b'.repeat(64) }), server.url).href);
    expect(wrong.status).toBe(404);
    expect(wrong.body.error).toContain(`fetch ${right}`);
    const malformed = await getJson(new URL('/api/model/base/../../admin-token', server.url).href);
    expect([400, 404]).toContain(malformed.status);
    const bad = await getJson(new URL('/api/model/base/XYZ.bin', server.url).href);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/expected \/api\/model\/base\/<sha256>\.bin/);
    const cached = await fetch(new URL(right, server.url), { headers: { 'if-none-match': `"${welcome.lora!.base.frameSha256}"` } });
    expect(cached.status).toBe(304);
    // The right frame is still taken afterwards.
    const good = encodeUpdate(new Float32Array(n).fill(1e-3), { bits: 8, round: task.round });
    expect(await raw.send(DeviceEvent.update, meta, good)).toMatchObject({ ok: true });
  });

  it('a config with an unknown base or a target that matches no layer is refused, naming it', async () => {
    expect(() => resolveRunConfig(fastConfig({ lora: { base: 'stable-diffusion' } }))).toThrow(/lora\.base: 'stable-diffusion' is not a known base model; expected one of 'random'/);
    expect(() => resolveRunConfig(fastConfig({ lora: { base: 'random', method: 'qlora' as never } }))).toThrow(/lora\.method/);
    expect(() => resolveRunConfig(fastConfig({ lora: { base: 'random', rank: 0 } }))).toThrow(/lora\.rank/);
    const config = resolveRunConfig(fastConfig({ lora: { base: 'random', targets: ['conv', 'attn.*'] } }));
    const runDir = tmpRunDir();
    await expect(startServer({ port: 0, config, runDir, webRoot: null, logger: pino({ level: 'silent' }) })).rejects.toThrow(/LoRA target 'attn\.\*' matches no layer/);
  });
});

describe('LoRA checkpoints', () => {
  it('a LoRA run resumes from its adapter vector; a checkpoint on another base is refused', async () => {
    const runDir = tmpRunDir();
    const server = await startTestServer({ rounds: 1, ...FFA, policy: { kind: 'fixed', bits: 8 } as never }, { runDir });
    const tapped = tap(server);
    cleanup.push(() => server.close());
    await runDevices(server, 1);
    expect(tapped.updates.length).toBe(3);
    const saved = Float32Array.from(server.coordinator.global);
    const ema = Float32Array.from(server.coordinator.samplingWeights);
    const baseSha256 = server.host.lora!.base.sha256;
    await cleanup.pop()!(); // devices
    await server.close();
    cleanup.pop();

    // Resume with more rounds: the adapter vector, its EMA and the round come back; the base is the same one.
    const logger = pino({ level: 'silent' });
    const resumed = await startServer({ port: 0, resume: runDir, webRoot: null, logger });
    cleanup.push(() => resumed.close());
    expect(resumed.coordinator.completed).toBe(1);
    expect(resumed.coordinator.global).toEqual(saved);
    expect(resumed.coordinator.samplingWeights).toEqual(ema);
    expect(resumed.host.lora!.base.sha256).toBe(baseSha256);
    await resumed.close();
    cleanup.pop();

    // The same directory with another base (here: another seed of 'random', so other weights) is refused, naming both.
    const configPath = join(runDir, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(configPath, JSON.stringify({ ...config, seed: config.seed + 1, lora: { ...config.lora, seed: config.seed } }));
    await expect(startServer({ port: 0, resume: runDir, webRoot: null, logger })).rejects.toThrow(/adapters were trained on base 'random' \(SHA-256 [0-9a-f]{64}\); this run's base is 'random' \(SHA-256 [0-9a-f]{64}\)/);
    // A full-training config on a LoRA checkpoint is refused too.
    writeFileSync(configPath, JSON.stringify({ ...config, lora: null }));
    await expect(startServer({ port: 0, resume: runDir, webRoot: null, logger })).rejects.toThrow(/checkpoint holds the LoRA adapters of base 'random', but this run trains the full model/);
  });
});
