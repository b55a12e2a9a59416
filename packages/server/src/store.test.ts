import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RoundSummary } from '@fedbit/core';
import { resolveRunConfig } from './config';
import { RunStore, decodeCheckpoint, encodeCheckpoint, type CheckpointState } from './store';

function summary(round: number): RoundSummary {
  return {
    round, policy: 'fixed', startedAt: new Date(0).toISOString(), wallS: 1, participants: 1, accepted: 1, loss: 0.5,
    computeJ: 1, transmitJ: 2, energyJ: 3, uplinkBytes: 10, uplinkBytesFp32: 40, downlinkBytes: 40, bits: { a: 8 },
    devices: [{ deviceId: 'a', name: 'a', bits: 8, trainBits: 8, reason: '', status: 'accepted', samples: 1, loss: 0.5, trainMs: 1, frameBytes: 10, uplinkBps: 1e6, computeJ: 1, transmitJ: 2, energyJ: 3, battery: null, charging: null }],
  };
}

function state(round: number): CheckpointState {
  return {
    runId: 'r', round, layoutFingerprint: 'f', lossHistory: [0.5], nextShard: 1, savedAt: '',
    totals: { energyJ: 3 * round, computeJ: round, transmitJ: 2 * round, receiveJ: 0, uplinkBytes: 10 * round, downlinkBytes: 40 * round },
    devices: { 'device-a': { name: 'a', energyJ: 3, updateNormSq: 1, shard: 0, uplinkBps: 1e6 } },
    lastSummary: summary(round),
  };
}

const bytes = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

describe('run store', () => {
  it('round-trips a checkpoint and refuses a damaged one', () => {
    const weights = new Float32Array([1, -2, 3.5, Number.MIN_VALUE]);
    const encoded = bytes(encodeCheckpoint(state(2), weights));
    const back = decodeCheckpoint(encoded);
    expect(back.state.round).toBe(2);
    expect([...back.weights]).toEqual([...weights]);
    expect(() => decodeCheckpoint(encoded.subarray(0, encoded.length - 1))).toThrow(/expected/);
    expect(() => decodeCheckpoint(encoded.subarray(0, 8))).toThrow(/truncated/);
    const wrong = encoded.slice();
    wrong[0] ^= 1;
    expect(() => decodeCheckpoint(wrong)).toThrow(/magic/);
  });

  it('refuses a checkpoint whose state or weights cannot be trusted, saying what was wrong', () => {
    const good = state(2);
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(good, new Float32Array([1, Number.NaN]))), 'ck')).toThrow(/ck: weight 1 is NaN/);
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(good, new Float32Array([Infinity]))))).toThrow(/finite weights only/);
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(good, new Float32Array(3))), 'ck', 4)).toThrow(/holds 3 weights, this run's model has 4/);
    const negative = { ...good, round: -1 };
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(negative, new Float32Array(1))))).toThrow(/state round/);
    const badDevice = { ...good, devices: { 'short!': good.devices['device-a'] } };
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(badDevice, new Float32Array(1))))).toThrow(/state devices/);
    const nanLoss = { ...good, lossHistory: [Number.NaN] };
    expect(() => decodeCheckpoint(bytes(encodeCheckpoint(nanLoss, new Float32Array(1))))).toThrow(/lossHistory/);
  });

  it('keeps the sampling EMA next to the model, and refuses a checkpoint whose halves cannot match', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedbit-store-')), 'run');
    const store = RunStore.create(dir, resolveRunConfig({}));
    store.commitRound({ ...state(3), ema: { decay: 0.9, updates: 3 } }, new Float32Array([1, 2]), new Float32Array([0.5, 1.5]));
    const back = store.readCheckpoint()!;
    expect([...back.weights]).toEqual([1, 2]);
    expect([...back.ema!]).toEqual([0.5, 1.5]);
    expect(back.state.ema).toEqual({ decay: 0.9, updates: 3 });
    const odd = bytes(encodeCheckpoint({ ...state(3), ema: { decay: 0.9, updates: 3 } }, new Float32Array(3)));
    expect(() => decodeCheckpoint(odd, 'ck')).toThrow(/ck: state has an EMA but 3 weights is odd/);
    const badDecay = bytes(encodeCheckpoint({ ...state(3), ema: { decay: 1.5, updates: 3 } }, new Float32Array(2)));
    expect(() => decodeCheckpoint(badDecay, 'ck')).toThrow(/ema/);
  });

  it('commits rounds atomically and reconciles metrics.jsonl with the checkpoint after a crash', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedbit-store-')), 'run');
    const store = RunStore.create(dir, resolveRunConfig({}));
    store.commitRound(state(1), new Float32Array([1]));
    store.commitRound(state(2), new Float32Array([2]));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // A crash after round 3's metrics line was half written, and a line for a round never checkpointed.
    appendFileSync(join(dir, 'metrics.jsonl'), '{"type":"round","round":3,"summ');
    appendFileSync(join(dir, 'metrics.jsonl'), '\n' + JSON.stringify({ type: 'round', round: 3, summary: summary(3) }) + '\n');
    const opened = RunStore.open(dir);
    expect(opened.checkpoint?.state.round).toBe(2);
    expect([...opened.checkpoint!.weights]).toEqual([2]);
    expect(opened.store.readSummaries().map((s) => s.round)).toEqual([1, 2]);

    // The checkpoint landed but its metrics line did not: it is rewritten from the checkpoint.
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => !l.includes('"round":2'));
    writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n'));
    expect(RunStore.open(dir).store.readSummaries().map((s) => s.round)).toEqual([1, 2]);
  });

  it('will not overwrite a run that exists', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedbit-store-')), 'run');
    const store = RunStore.create(dir, resolveRunConfig({}));
    store.commitRound(state(1), new Float32Array([1]));
    expect(() => RunStore.create(dir, resolveRunConfig({}))).toThrow(/--resume/);
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
  });
});
