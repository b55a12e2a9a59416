// The denoiser's weights as safetensors, named and laid out for PyTorch, so that
// `FedbitUNet.from_safetensors` in python/fedbit_unet.py (or `load_state_dict` of the same
// module) takes them as they are.
//
// Source: the safetensors format, https://github.com/huggingface/safetensors (README, "Format"):
//   8 bytes: N, an unsigned little-endian 64-bit integer, the size of the header;
//   N bytes: a UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, ...} with an
//            optional "__metadata__" object of string to string, padded with spaces (0x20);
//   the rest: the tensors' bytes, little-endian, row-major; data_offsets are relative to the start
//            of this buffer, and the tensors cover it exactly, without holes or overlap.
//
// Layout changes from ours (TF) to PyTorch's: conv kernels [kh,kw,in,out] -> weight [out,in,kh,kw],
// dense kernels [in,out] -> weight [out,in], GroupNorm gamma/beta -> weight/bias, the label table
// -> an nn.Embedding weight [classes + 1, embedDim] (the same matrix).
import { validateModelConfig, type ModelConfig } from '../config';
import { modelLayout } from '../model';

export const SAFETENSORS_FILE = 'model.safetensors';
/** The largest header we read: far above any model here, and a guard against a corrupt length. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface SafetensorsTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

/** PyTorch's name and shape for one of our parameters. */
export function torchName(name: string): string {
  return name.replace(/\.(kernel|gamma|table)$/, '.weight').replace(/\.beta$/, '.bias');
}

/** PyTorch's shape of one of our parameters (the label table is an nn.Embedding weight as it is). */
export function torchShape(name: string, shape: number[]): number[] {
  if (shape.length === 4) return [shape[3], shape[2], shape[0], shape[1]];
  if (shape.length === 2 && name.endsWith('.kernel')) return [shape[1], shape[0]];
  return [...shape];
}

function toTorch(name: string, shape: number[], values: Float32Array): { shape: number[]; data: Float32Array } {
  if (shape.length === 4) {
    const [kh, kw, ci, co] = shape;
    const out = new Float32Array(values.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = values[((y * kw + x) * ci + i) * co + o];
    return { shape: [co, ci, kh, kw], data: out };
  }
  if (shape.length === 2 && name.endsWith('.kernel')) {
    const [rows, cols] = shape;
    const out = new Float32Array(values.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
    return { shape: [cols, rows], data: out };
  }
  return { shape: [...shape], data: values.slice() };
}

function fromTorch(name: string, shape: number[], values: Float32Array): Float32Array {
  if (shape.length === 4) {
    const [co, ci, kh, kw] = shape;
    const out = new Float32Array(values.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) out[((y * kw + x) * ci + i) * co + o] = values[((o * ci + i) * kh + y) * kw + x];
    return out;
  }
  if (shape.length === 2 && name.endsWith('.kernel')) return toTorch(name, shape, values).data; // [out,in] -> [in,out]
  return values.slice();
}

/** Encodes named float32 tensors and string metadata as one safetensors file. */
export function encodeSafetensors(tensors: { name: string; shape: number[]; data: Float32Array }[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`safetensors: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + size * 4] };
    offset += size * 4;
  }
  let json = JSON.stringify(header);
  // pad with spaces so the data starts 8-byte aligned (the reference writer does the same)
  const raw = new TextEncoder().encode(json);
  json += ' '.repeat((8 - ((8 + raw.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    const bytes = new Uint8Array(t.data.length * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i], true);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** Reads a safetensors file of float32 tensors; refuses, with the reason, anything it cannot read exactly. */
export function decodeSafetensors(file: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, SafetensorsTensor> } {
  const fail = (what: string): never => {
    throw new Error(`safetensors: ${what}`);
  };
  if (file.byteLength < 8) fail(`the file has ${file.byteLength} bytes; it needs at least the 8-byte header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || 8 + n > file.byteLength) fail(`the header length ${n} does not fit a file of ${file.byteLength} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n)));
  } catch (error) {
    return fail(`the header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('the header must be a JSON object');
  const data = file.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${k} must be a string, got ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (entry?.dtype !== 'F32') fail(`tensor ${name} has dtype ${String(entry?.dtype)}; only F32 is read here`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor ${name} has no valid shape`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) fail(`tensor ${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== size * 4) fail(`tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] needs ${size * 4}`);
    if (end > data.byteLength) fail(`tensor ${name} ends at byte ${end}, the data has ${data.byteLength}`);
    const values = new Float32Array(size);
    const dv = new DataView(data.buffer, data.byteOffset + begin, size * 4);
    for (let i = 0; i < size; i++) values[i] = dv.getFloat32(i * 4, true);
    tensors.set(name, { dtype: 'F32', shape: shape as number[], data: values });
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered) fail(`tensor ${name} starts at byte ${begin}, expected ${covered} (holes and overlaps are not allowed)`);
    covered = end;
  }
  if (covered !== data.byteLength) fail(`the tensors cover ${covered} bytes of ${data.byteLength}`);
  return { metadata, tensors };
}

/** The model's weights (our layout order) as safetensors in PyTorch's names and layouts; `metadata` adds string fields. */
export function exportSafetensors(config: ModelConfig, weights: Float32Array, metadata: Record<string, string> = {}): Uint8Array {
  const layout = modelLayout(config);
  if (weights.length !== layout.total) throw new Error(`exportSafetensors: ${weights.length} weights given, the layout of this config has ${layout.total}`);
  const tensors = layout.entries.map((e) => ({ name: torchName(e.name), ...toTorch(e.name, e.shape, weights.subarray(e.offset, e.offset + e.size)) }));
  return encodeSafetensors(tensors, { format: 'pt', 'fedbit.config': JSON.stringify(config), 'fedbit.prediction': 'eps', ...metadata });
}

/** The inverse of exportSafetensors: the config from the metadata, the weights back in our layout. */
export function importSafetensors(file: Uint8Array): { config: ModelConfig; weights: Float32Array; metadata: Record<string, string> } {
  const { metadata, tensors } = decodeSafetensors(file);
  if (!metadata['fedbit.config']) throw new Error('importSafetensors: the metadata has no fedbit.config; this file was not written by exportSafetensors');
  const config = validateModelConfig(JSON.parse(metadata['fedbit.config']));
  const layout = modelLayout(config);
  const weights = new Float32Array(layout.total);
  for (const e of layout.entries) {
    const t = tensors.get(torchName(e.name));
    if (!t) throw new Error(`importSafetensors: tensor ${torchName(e.name)} is missing`);
    const expected = torchShape(e.name, e.shape);
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      throw new Error(`importSafetensors: tensor ${torchName(e.name)} has shape [${t.shape}], the model expects [${expected}]`);
    }
    weights.set(fromTorch(e.name, t.shape, t.data), e.offset);
  }
  if (tensors.size !== layout.entries.length) throw new Error(`importSafetensors: the file has ${tensors.size} tensors, the model ${layout.entries.length}`);
  return { config, weights, metadata };
}
