// The device's model download against a real HTTP server on loopback: reuse of the copy it holds,
// the SHA-256 check (a tampered copy is refused, after one retry past any cache), size limits and
// the server's reasons passed on.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basePath, modelPath, sha256Hex, type ModelRef } from '@fedbit/core';
import { ModelFetcher, ModelIntegrityError, sha256Of } from './model-fetch';

const frame = Uint8Array.from({ length: 5000 }, (_, i) => (i * 37 + 11) & 0xff);
const ref: ModelRef = { version: 4, sha256: createHash('sha256').update(frame).digest('hex'), bytes: frame.byteLength };
/** What the server sends for the model path: the frame, or something else. */
let serve: () => Uint8Array = () => frame;
const requests: Array<{ url: string; cache: string | undefined }> = [];
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', cache: req.headers['cache-control'] });
    if (req.url === modelPath(ref) || req.url === basePath({ sha256: ref.sha256 })) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(serve());
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'model version 9 is not kept here' }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('ModelFetcher', () => {
  it('downloads a version once, checks it, and reuses the copy it holds for the same version and hash', async () => {
    serve = () => frame;
    requests.length = 0;
    const models = new ModelFetcher(base);
    const first = await models.get(ref);
    expect(first.frame).toEqual(frame);
    expect(first.download?.bytes).toBe(frame.byteLength);
    const again = await models.get(ref);
    expect(again.download).toBeNull();
    expect(again.frame).toBe(first.frame);
    expect(requests).toHaveLength(1);
    expect(models.holding).toEqual(ref);
  });

  it('refuses a copy whose SHA-256 differs, after asking once more past any cache, and keeps no bad copy', async () => {
    const tampered = frame.slice();
    tampered[100] ^= 1;
    serve = () => tampered;
    requests.length = 0;
    const models = new ModelFetcher(base);
    const error = await models.get(ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect((error as Error).message).toMatch(new RegExp(`SHA-256 ${sha256Hex(tampered)}, but the task named ${ref.sha256}`));
    expect((error as Error).message).toMatch(/not trained/);
    expect(requests).toHaveLength(2);
    expect(models.holding).toBeNull();

    // A cache that held the damaged copy, while the aggregator has the right one: the retry gets it.
    let calls = 0;
    serve = () => (++calls === 1 ? tampered : frame);
    expect((await models.get(ref)).frame).toEqual(frame);
  });

  it('refuses a body longer or shorter than the task named', async () => {
    const models = new ModelFetcher(base);
    serve = () => new Uint8Array(frame.byteLength + 1);
    await expect(models.get(ref)).rejects.toThrow(/longer than the 5000 bytes the task named/);
    serve = () => frame.subarray(0, 10);
    await expect(models.get(ref)).rejects.toThrow(/has 10 bytes, but the task named 5000/);
  });

  it('passes on the aggregator\'s reason for a refusal', async () => {
    const models = new ModelFetcher(base);
    await expect(models.get({ ...ref, version: 9 })).rejects.toThrow(/answered 404 .*version 9.*not kept here/);
    await expect(new ModelFetcher('http://127.0.0.1:9').get(ref)).rejects.toThrow(/cannot download the model of version 4/);
  });

  it('hashes with WebCrypto and with core\'s SHA-256 alike', async () => {
    expect(await sha256Of(frame)).toBe(ref.sha256);
    expect(sha256Hex(frame)).toBe(ref.sha256);
  });
});

describe('ModelFetcher.getBase', () => {
  const brief = { name: 'random', sha256: 'a'.repeat(64), frameSha256: ref.sha256, bytes: ref.bytes, params: 100 };

  it('downloads a LoRA run\'s base at the path the welcome names and checks it the same way', async () => {
    serve = () => frame;
    requests.length = 0;
    const models = new ModelFetcher(base);
    const copy = await models.getBase(brief);
    expect(copy.frame).toEqual(frame);
    expect(requests.map((r) => r.url)).toEqual([basePath({ sha256: ref.sha256 })]);
    // The base is not a model version: it does not replace the version the device holds.
    expect(models.holding).toBeNull();
  });

  it('refuses a base whose SHA-256 or size is not what the welcome named', async () => {
    const tampered = frame.slice();
    tampered[7] ^= 1;
    serve = () => tampered;
    const models = new ModelFetcher(base);
    await expect(models.getBase(brief)).rejects.toThrow(new RegExp(`the LoRA base 'random' .* has SHA-256 ${sha256Hex(tampered)}, but the welcome named ${ref.sha256}: this copy was not used and this device does not join the run's training`));
    serve = () => frame.subarray(0, 10);
    await expect(models.getBase(brief)).rejects.toThrow(/has 10 bytes, but the welcome named 5000/);
  });
});
