// Same seed, same table (issue 18): a synchronous simulation is a function of its config and seed.
// Three short runs of real devices over real Socket.IO: two with one seed must give bit-identical
// global weights and the same JSON and round summaries (wall times and random device ids aside); a
// third with another seed must not. The policy is on-demand, whose choices follow the measured
// link rates and the loss history, so anything timing-dependent left in a run shows up here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RoundSummary } from '@fedbit/core';
import { decodeCheckpoint } from '@fedbit/server';
import { runSimulation } from '../apps/cli/src/simulate';
import { simulationJson } from '../apps/cli/src/report';
import { fastConfig, tmpRunDir } from './helpers';

async function run(seed: number) {
  const result = await runSimulation({
    devices: 4,
    rounds: 3,
    seed,
    runDir: tmpRunDir('fedbit-repro-'),
    shaping: false,
    config: { ...fastConfig(), policy: { kind: 'on-demand' } as never, quorum: 2, localSteps: 3, eval: { every: 0, samples: 16, steps: 4, final: true } },
  });
  const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(join(result.runDir!, 'checkpoint.bin'))));
  const { wallS: _w, runDir: _r, ...json } = simulationJson(result);
  return { weights: checkpoint.weights, json, summaries: result.summaries.map(comparable) };
}

/** A summary without what legitimately differs between reruns: wall-clock times (the round's, its planning's) and the random device ids (names stand in). */
function comparable(summary: RoundSummary) {
  const name = new Map(summary.devices.map((d) => [d.deviceId, d.name]));
  const { startedAt: _s, wallS: _w, planS: _p, solveS: _v, ...rest } = summary;
  return {
    ...rest,
    bits: Object.fromEntries(Object.entries(summary.bits).map(([id, bits]) => [name.get(id) ?? id, bits])),
    devices: summary.devices.map(({ deviceId: _d, trainMs: _t, ...d }) => d),
  };
}

describe('reproducible synchronous runs', () => {
  it('the same seed gives bit-identical weights and the same figures; another seed does not', async () => {
    const a = await run(7);
    const b = await run(7);
    expect(a.summaries).toHaveLength(3);
    expect(Buffer.from(b.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(true);
    expect(b.json).toEqual(a.json);
    expect(b.summaries).toEqual(a.summaries);

    const c = await run(8);
    expect(Buffer.from(c.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(false);
  });
});
