// The compact binary a dataset is stored and served as (little-endian):
//   0  magic 'FBDS'      4  version u8 (1)   5  name code u8 (0 mnist, 1 emoji)
//   6  channels u8 (1|3) 7  flags u8 (bit 0: groups present)
//   8  width u16         10 height u16       12 count u32
//   16 meta length u32   20 checksum u32 (FNV-1a 32 over every byte after the header)
//   24 pixels u8[count*h*w*c], zero-padded to 4 bytes; labels i32[count]; groups i32[count] if
//      flagged; meta: UTF-8 JSON { classNames?, groupNames? }.
import { DATASET_NAMES, type DatasetName, type ImageDataset } from './types';

export const DATASET_MAGIC = 'FBDS';
export const DATASET_VERSION = 1;
const HEADER_BYTES = 24;

export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
}

function fnv1a(bytes: Uint8Array, start: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

const align4 = (n: number): number => (n + 3) & ~3;

export function encodeDataset(ds: ImageDataset): Uint8Array {
  const per = ds.width * ds.height * ds.channels;
  if (ds.pixels.length !== ds.count * per) throw new DatasetFormatError(`pixels has ${ds.pixels.length} bytes, expected count*h*w*c = ${ds.count * per}`);
  if (ds.labels.length !== ds.count) throw new DatasetFormatError(`labels has ${ds.labels.length} entries, expected ${ds.count}`);
  if (ds.groups && ds.groups.length !== ds.count) throw new DatasetFormatError(`groups has ${ds.groups.length} entries, expected ${ds.count}`);
  const nameCode = DATASET_NAMES.indexOf(ds.name);
  if (nameCode < 0) throw new DatasetFormatError(`unknown dataset name "${ds.name}"`);
  const meta: { classNames?: string[]; groupNames?: string[] } = {};
  if (ds.classNames) meta.classNames = ds.classNames;
  if (ds.groupNames) meta.groupNames = ds.groupNames;
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  const pixelBytes = align4(ds.pixels.length);
  const total = HEADER_BYTES + pixelBytes + 4 * ds.count * (ds.groups ? 2 : 1) + metaBytes.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(DATASET_MAGIC), 0);
  view.setUint8(4, DATASET_VERSION);
  view.setUint8(5, nameCode);
  view.setUint8(6, ds.channels);
  view.setUint8(7, ds.groups ? 1 : 0);
  view.setUint16(8, ds.width, true);
  view.setUint16(10, ds.height, true);
  view.setUint32(12, ds.count, true);
  view.setUint32(16, metaBytes.length, true);
  let offset = HEADER_BYTES;
  out.set(ds.pixels, offset);
  offset += pixelBytes;
  for (const arr of ds.groups ? [ds.labels, ds.groups] : [ds.labels]) {
    for (let i = 0; i < ds.count; i++, offset += 4) view.setInt32(offset, arr[i], true);
  }
  out.set(metaBytes, offset);
  view.setUint32(20, fnv1a(out, HEADER_BYTES), true);
  return out;
}

/** Parses and checks a dataset binary; throws DatasetFormatError saying what is wrong. */
export function decodeDataset(bytes: Uint8Array): ImageDataset {
  const fail = (why: string): never => {
    throw new DatasetFormatError(`not a valid fedbit dataset file: ${why}. Rebuild it with \`npm run build -w @fedbit/datasets\` (or delete it to rebuild on next load).`);
  };
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== DATASET_MAGIC) fail(`magic is "${magic}", expected "${DATASET_MAGIC}"`);
  const version = view.getUint8(4);
  if (version !== DATASET_VERSION) fail(`format version ${version}, this code reads version ${DATASET_VERSION}`);
  const name = DATASET_NAMES[view.getUint8(5)] as DatasetName | undefined;
  if (!name) fail(`unknown dataset name code ${view.getUint8(5)}`);
  const channels = view.getUint8(6);
  if (channels !== 1 && channels !== 3) fail(`channels is ${channels}, expected 1 or 3`);
  const flags = view.getUint8(7);
  if (flags > 1) fail(`unknown flags ${flags}`);
  const width = view.getUint16(8, true);
  const height = view.getUint16(10, true);
  const count = view.getUint32(12, true);
  const metaLength = view.getUint32(16, true);
  if (width === 0 || height === 0) fail(`image size ${width}x${height}`);
  const hasGroups = (flags & 1) === 1;
  const pixelLength = count * width * height * channels;
  const expected = HEADER_BYTES + align4(pixelLength) + 4 * count * (hasGroups ? 2 : 1) + metaLength;
  if (bytes.length !== expected) fail(`${bytes.length} bytes, but the header (${count} images of ${width}x${height}x${channels}) implies ${expected}${bytes.length < expected ? ' (truncated?)' : ''}`);
  const checksum = view.getUint32(20, true);
  const actual = fnv1a(bytes, HEADER_BYTES);
  if (checksum !== actual) fail(`checksum mismatch (stored ${checksum.toString(16)}, computed ${actual.toString(16)}): the file is corrupt`);
  let offset = HEADER_BYTES;
  const pixels = bytes.slice(offset, offset + pixelLength);
  offset += align4(pixelLength);
  const readInts = (): Int32Array => {
    const arr = new Int32Array(count);
    for (let i = 0; i < count; i++, offset += 4) arr[i] = view.getInt32(offset, true);
    return arr;
  };
  const labels = readInts();
  const groups = hasGroups ? readInts() : undefined;
  let meta: { classNames?: unknown; groupNames?: unknown };
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes.subarray(offset, offset + metaLength))) as typeof meta;
  } catch {
    return fail('metadata is not valid JSON');
  }
  const strings = (v: unknown, what: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return fail(`${what} is not a list of strings`);
    return v as string[];
  };
  const ds: ImageDataset = { name: name as DatasetName, width, height, channels: channels as 1 | 3, count, pixels, labels };
  if (groups) ds.groups = groups;
  const classNames = strings(meta.classNames, 'classNames');
  const groupNames = strings(meta.groupNames, 'groupNames');
  if (classNames) ds.classNames = classNames;
  if (groupNames) ds.groupNames = groupNames;
  return ds;
}
