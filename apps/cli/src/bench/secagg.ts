// `npm run bench:secagg`: secure aggregation of 4-bit updates (packages/secagg) for 10, 100 and
// 1,000 devices of the 1 M-parameter model, every device and the server in this one process, 30%
// of the devices dropping after they shared their keys. Per size: whether the server's sum equals
// the plaintext sum exactly, the bytes a device sends (keys, sealed shares, the masked input at m
// bits a value, revealed shares) against the plain 4-bit frame, and CPU milliseconds per device
// and for the server. The goal (issue 13): at 1,000 devices at most half of what masking at 32 bits
// would send, i.e. bytesPerDevice <= 2 * params. Ends with one JSON line with --json.
import { cpus } from 'node:os';
import { z } from 'zod';
import { DEFAULT_BLOCK_SIZE, StreamingAggregator, encodeUpdate, frameBytes } from '@fedbit/core';
import { SecAggDevice, SecAggServer, bytesPerDevice, setupRound, type Advert, type Revealed, type SealedShares } from '@fedbit/secagg';
import { nameList, parseFlags, wholeNumber } from '../args';
import { table } from '../report';

const flags =
  parseFlags(
    process.argv.slice(2),
    {
      params: { type: 'string', default: '1000000', placeholder: 'n', description: 'values per update' },
      devices: { type: 'string', default: '10,100,1000', placeholder: 'list', description: 'round sizes to run' },
      dropout: { type: 'string', default: '30', placeholder: 'percent', description: 'devices that drop after sharing their keys, in percent' },
      json: { type: 'boolean', description: 'end with one JSON line' },
    },
    z.object({ params: wholeNumber(1, 10_000_000), devices: nameList(['10', '100', '1000']), dropout: wholeNumber(0, 60), json: z.boolean() }),
    { usage: 'npm run bench:secagg --', summary: 'secure aggregation on 4-bit integers: exact sum, dropout recovery, bytes and CPU per device', examples: ['npm run bench:secagg', 'npm run bench:secagg -- --params 100000 --devices 10,100'] },
  ) ?? process.exit(0);

const BITS = 4;
/** Device i's input: 4-bit levels, cheap to regenerate (no device keeps 1 M values for long). */
const valueOf = (i: number, v: number) => (i * 2654435761 + v * 40503) >>> 28;

async function run(n: number) {
  const setup = setupRound(1, n, flags.params, BITS, 12345);
  const server = new SecAggServer(setup);
  const devices = Array.from({ length: n }, (_, i) => new SecAggDevice(setup, i));
  const dropped = new Set(Array.from({ length: Math.round((n * flags.dropout) / 100) }, (_, k) => Math.floor((k * n) / Math.round((n * flags.dropout) / 100))));
  const deviceMs = new Array<number>(n).fill(0);
  const timed = async <T>(i: number, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await work();
    deviceMs[i] += performance.now() - t;
    return out;
  };
  const adverts: Advert[] = [];
  for (const d of devices) adverts.push(await timed(d.index, () => d.advertise()));
  adverts.forEach((a) => server.advertised(a));
  const bundles: SealedShares[] = [];
  const sealedBytes = new Array<number>(n).fill(0);
  for (const d of devices) {
    const out = await timed(d.index, () => d.share(adverts));
    sealedBytes[d.index] = out.reduce((s, b) => s + b.sealed.length + 8, 0);
    bundles.push(...out);
  }
  const inbox = new Map<number, SealedShares[]>();
  for (const b of bundles) inbox.set(b.to, [...(inbox.get(b.to) ?? []), b]);
  for (const d of devices) await timed(d.index, () => d.receive(inbox.get(d.index) ?? []));

  let serverMs = 0;
  const expected = new Uint32Array(flags.params);
  const input = new Uint32Array(flags.params);
  for (const d of devices) {
    if (dropped.has(d.index)) continue;
    for (let v = 0; v < input.length; v++) expected[v] += input[v] = valueOf(d.index, v);
    const y = await timed(d.index, () => d.mask(input));
    const t = performance.now();
    server.masked(d.index, y);
    serverMs += performance.now() - t;
  }
  const revealed: Revealed[] = [];
  const revealedCount = new Array<number>(n).fill(0);
  for (const d of devices) {
    if (dropped.has(d.index)) continue;
    const out = await timed(d.index, async () => d.unmask(server.senders));
    revealedCount[d.index] = out.length;
    revealed.push(...out);
  }
  const t = performance.now();
  const { sum } = await server.finish(revealed);
  serverMs += performance.now() - t;
  const exact = sum.every((v, i) => v === expected[i]);

  // Plain aggregation of the same round for comparison: the server decodes each sender's 4-bit
  // frame into the running float64 sum (what a run without secure aggregation does).
  const frame = encodeUpdate(Float32Array.from({ length: flags.params }, (_, v) => Math.sin(v) * 1e-3), { bits: BITS, round: 1, blockSize: DEFAULT_BLOCK_SIZE, seed: 1 });
  const plain = new StreamingAggregator(flags.params);
  const tp = performance.now();
  for (let k = 0; k < n - dropped.size; k++) plain.add(frame, 1);
  const plainServerMs = performance.now() - tp;
  const senders = devices.filter((d) => !dropped.has(d.index));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n,
    exactSum: exact,
    dropped: dropped.size,
    setup: { modulusBits: setup.modulusBits, degree: setup.degree, threshold: setup.threshold },
    params: flags.params,
    bytesPerDevice: Math.round(mean(senders.map((d) => bytesPerDevice(setup, sealedBytes[d.index], revealedCount[d.index])))),
    plainBytesPerDevice: frameBytes(BITS, flags.params, DEFAULT_BLOCK_SIZE),
    deviceMs: Math.round(mean(senders.map((d) => deviceMs[d.index]))),
    serverMs: Math.round(serverMs),
    plainServerMs: Math.round(plainServerMs),
  };
}

const results = [];
for (const size of flags.devices.map(Number)) {
  process.stderr.write(`secure aggregation: ${size} devices of ${flags.params} values at ${BITS} bits, ${flags.dropout}% dropping...\n`);
  results.push(await run(size));
}
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; every device and the server in one process, one after another\n`);
process.stdout.write(
  table(
    ['devices', 'exact sum', 'dropped', 'mask bits m', 'neighbors k', 'threshold t', 'bytes/device', 'plain 4-bit frame', 'bytes/device / params', 'device ms', 'server ms', 'plain server ms'],
    results.map((r) => [r.n, r.exactSum ? 'yes' : 'NO', r.dropped, r.setup.modulusBits, r.setup.degree, r.setup.threshold, r.bytesPerDevice, r.plainBytesPerDevice, (r.bytesPerDevice / r.params).toFixed(3), r.deviceMs, r.serverMs, r.plainServerMs]),
  ) + '\n',
);
if (flags.json) {
  const devicesJson = Object.fromEntries(results.map((r) => [String(r.n), { params: r.params, bytesPerDevice: r.bytesPerDevice, plainBytesPerDevice: r.plainBytesPerDevice, deviceMs: r.deviceMs, serverMs: r.serverMs, plainServerMs: r.plainServerMs, modulusBits: r.setup.modulusBits, degree: r.setup.degree }]));
  process.stdout.write(JSON.stringify({ exactSum: results.every((r) => r.exactSum), dropoutRecovered: results.every((r) => r.exactSum && (r.dropped > 0 || flags.dropout === 0)), devices: devicesJson }) + '\n');
}
