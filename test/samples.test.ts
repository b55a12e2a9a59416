// The sample grid a class sees: a class-conditional model draws one row per class, or one class on
// request (GET /api/samples?label=k, "draw a 7"); a bad label is a 400 that says what was expected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '@fedbit/server';
import { getJson, startTestServer } from './helpers';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const pngSize = (png: Uint8Array) => {
  const view = new DataView(png.buffer, png.byteOffset);
  return { width: view.getUint32(16), height: view.getUint32(20) };
};

describe('samples of a class-conditional model', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ model: { size: 'tiny', classConditional: true, schedule: { kind: 'cosine', steps: 100 } } });
  });
  afterAll(() => server.close());

  it('draws one row per class, and one class on request', async () => {
    const status = await getJson(`${server.url}/api/status`);
    expect(status.body.config.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const all = new Uint8Array(await (await fetch(`${server.url}/api/samples`)).arrayBuffer());
    expect([...all.subarray(0, 8)]).toEqual(PNG);
    const seven = new Uint8Array(await (await fetch(`${server.url}/api/samples?label=7`)).arrayBuffer());
    expect([...seven.subarray(0, 8)]).toEqual(PNG);
    // 8 columns by 10 class rows, against 4 by 4 for one class
    const a = pngSize(all);
    const s = pngSize(seven);
    expect(a.height / s.height).toBeCloseTo(10 / 4, 1);
    expect(a.width / s.width).toBeCloseTo(8 / 4, 1);
  });

  it('refuses a label that is not one of its classes', async () => {
    for (const bad of ['10', '-1', 'seven', '2.5']) {
      const reply = await getJson(`${server.url}/api/samples?label=${bad}`);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(/label must be a class number in 0\.\.9/);
    }
  });
});

describe('samples of an unconditional model', () => {
  it('says it cannot draw a chosen class', async () => {
    const server = await startTestServer();
    try {
      const reply = await getJson(`${server.url}/api/samples?label=3`);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(/unconditional/);
      expect((await getJson(`${server.url}/api/status`)).body.config.classNames).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
