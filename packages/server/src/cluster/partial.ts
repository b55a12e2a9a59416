// A node's partial sum of one round on the wire (through Redis, partial:<round>:<node>): what it
// merged of its own devices' updates (core's PartialSum: the float64 running sum of weight * update,
// the weights, the count, FedNova's weight * steps) and which devices those were. The leader adds
// the partials of the live nodes to its own sum and takes the mean once (FedAvg, McMahan et al.,
// arXiv 1602.05629: the mean of the union equals the weighted mean of partial means).
//
//   bytes 0-3   magic "FBPS"
//   bytes 4-7   JSON length (uint32, little-endian)
//   JSON        { round, term, nodeId, length, count, weight, weightedSteps, devices }
//   padding     zeros to an 8-byte boundary
//   float64 x length, little-endian
//
// decodePartial refuses anything that is not exactly that, with the reason: the leader reads it from
// Redis, which any process that can reach Redis can write.
import { z } from 'zod';
import { describeZodError, type PartialSum } from '@fedbit/core';

const MAGIC = 0x53504246; // "FBPS" little-endian

const HeaderSchema = z
  .object({
    round: z.number().int().positive(),
    term: z.number().int().positive(),
    nodeId: z.string().min(1).max(64),
    length: z.number().int().nonnegative(),
    count: z.number().int().nonnegative(),
    weight: z.number().nonnegative().finite(),
    weightedSteps: z.number().nonnegative().finite(),
    devices: z.array(z.string().regex(/^[A-Za-z0-9_-]{6,64}$/)),
  })
  .strict();

export type PartialHeader = z.infer<typeof HeaderSchema>;

export interface NodePartial extends PartialSum {
  header: PartialHeader;
}

export function encodePartial(header: Omit<PartialHeader, 'length' | 'count' | 'weight' | 'weightedSteps'>, partial: PartialSum): Uint8Array {
  const full: PartialHeader = { ...header, length: partial.sum.length, count: partial.count, weight: partial.weight, weightedSteps: partial.weightedSteps };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const start = align8(8 + json.byteLength);
  const out = new Uint8Array(start + partial.sum.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, 8);
  out.set(new Uint8Array(partial.sum.buffer, partial.sum.byteOffset, partial.sum.byteLength), start);
  return out;
}

/** What the leader expects of a partial: its round, term and node, and the model's length. */
export interface PartialExpectation {
  round: number;
  term: number;
  nodeId: string;
  length: number;
}

/** Reads and checks a partial; throws an Error saying what was wrong and what was expected. */
export function decodePartial(bytes: Uint8Array, expect: PartialExpectation): NodePartial {
  const what = `partial sum of node ${expect.nodeId} for round ${expect.round}`;
  if (bytes.byteLength < 8) throw new Error(`${what}: ${bytes.byteLength} bytes, expected at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error(`${what}: not a partial sum (bad magic)`);
  const jsonBytes = view.getUint32(4, true);
  if (8 + jsonBytes > bytes.byteLength) throw new Error(`${what}: header of ${jsonBytes} bytes runs past the ${bytes.byteLength} bytes given`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + jsonBytes)));
  } catch (error) {
    throw new Error(`${what}: header is not JSON (${(error as Error).message})`);
  }
  const parsed = HeaderSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${what}: header ${describeZodError(parsed.error).reason}`);
  const header = parsed.data;
  if (header.round !== expect.round || header.term !== expect.term || header.nodeId !== expect.nodeId) {
    throw new Error(`${what}: header says node ${header.nodeId}, round ${header.round}, term ${header.term}; expected node ${expect.nodeId}, round ${expect.round}, term ${expect.term}`);
  }
  if (header.length !== expect.length) throw new Error(`${what}: holds ${header.length} values; the model has ${expect.length}`);
  if (header.count !== header.devices.length) throw new Error(`${what}: counts ${header.count} updates but names ${header.devices.length} devices`);
  if (new Set(header.devices).size !== header.devices.length) throw new Error(`${what}: names a device twice`);
  if (header.count > 0 && !(header.weight > 0)) throw new Error(`${what}: ${header.count} updates with total weight ${header.weight}; expected a weight > 0`);
  const start = align8(8 + jsonBytes);
  if (bytes.byteLength !== start + header.length * 8) throw new Error(`${what}: ${bytes.byteLength} bytes, expected ${start + header.length * 8} for ${header.length} float64 values`);
  const sum = new Float64Array(header.length);
  new Uint8Array(sum.buffer).set(bytes.subarray(start));
  for (let i = 0; i < sum.length; i++) {
    if (!Number.isFinite(sum[i])) throw new Error(`${what}: value ${i} is ${sum[i]}; a partial sum holds finite values only`);
  }
  return { header, sum, weight: header.weight, count: header.count, weightedSteps: header.weightedSteps };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
