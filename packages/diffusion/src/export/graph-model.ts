// The denoiser as a standard TensorFlow.js graph model: model.json with `format: 'graph-model'`,
// a `modelTopology` that is a TensorFlow GraphDef in its JSON form, and a weightsManifest with one
// binary shard. `tf.loadGraphModel` (@tensorflow/tfjs-converter) reads and runs it with no code of
// ours; the TensorFlow.js converter's Python tools read the same files.
//
// Sources:
// - GraphDef / NodeDef / AttrValue: tensorflow/core/framework/graph.proto, node_def.proto,
//   attr_value.proto (JSON as protobuf's json_format writes it: int64 as strings, bytes base64).
// - The model.json layout: tfjs-core src/io/types.ts (ModelJSON, WeightsManifestConfig) and
//   tfjs-converter src/operations/op_list/*.ts (which op names and attributes it executes).
//
// The graph is the U-Net of net.ts written out by a third NetOps interpreter (beside ShapeOps and
// the tfjs one), so the architecture still lives in one place. Only stock TF ops are used:
// Placeholder, Const, Conv2D, BiasAdd, MatMul, AddV2, Sub, Mul, Square, Mean, Rsqrt, Sigmoid,
// Reshape, ConcatV2, ResizeNearestNeighbor, Slice, GatherV2, Less, GreaterEqual, LogicalOr,
// SelectV2, Identity.
//
// Inputs: x float32 [n,H,W,C] (noisy images in [-1,1]), t int32 [n] (timestep indices 0..T-1) and,
// for a class-conditional model, label int32 [n] (0..numClasses-1; any other value means "no
// label", as in labelOneHot). Output: eps float32 [n,H,W,C], the predicted noise.
// The sinusoidal time features are a constant table [T, embedDim] gathered by t: computed once in
// float64 exactly as timeFeatures() does, so the graph matches predictNoise to float rounding of
// the convolutions (a sin/cos of float32 t*freq in the graph would be off by up to ~1e-4).
import type { ModelConfig } from '../config';
import { samePadding } from '../conv';
import { modelLayout, timeFeatures } from '../model';
import { unet, type NetOps } from '../net';

export const GRAPH_WEIGHTS_FILE = 'group1-shard1of1.bin';

export interface GraphExportOptions {
  /** T, the number of diffusion timesteps: the time-feature table has one row per timestep. */
  timesteps: number;
  /** Extra metadata for userDefinedMetadata (schedule, prediction type, run id...). */
  metadata?: Record<string, unknown>;
}

type AttrValue =
  | { type: string }
  | { shape: { dim: { size: string }[] } }
  | { list: { i: string[] } }
  | { s: string }
  | { b: boolean }
  | { i: string }
  | { tensor: { dtype: string; tensorShape: { dim: { size: string }[] } } };

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface TensorSignature {
  name: string;
  dtype: string;
  tensorShape: { dim: { size: string }[] };
}

export interface GraphModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: { node: GraphNode[]; library: Record<string, never>; versions: { producer: number; minConsumer: number } };
  signature: { inputs: Record<string, TensorSignature>; outputs: Record<string, TensorSignature> };
  userDefinedMetadata: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

interface Sym {
  node: string;
  shape: number[];
}

const DT = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' } as const;

function base64(text: string): string {
  let bin = '';
  for (const byte of new TextEncoder().encode(text)) bin += String.fromCharCode(byte);
  return btoa(bin);
}

const shapeAttr = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const ints = (values: number[]): AttrValue => ({ list: { i: values.map(String) } });
const dtype = (d: keyof typeof DT): AttrValue => ({ type: DT[d] });

/** Writes the U-Net as GraphDef nodes; weights become Const nodes named as in the layout. */
class GraphOps implements NetOps<Sym> {
  readonly nodes: GraphNode[] = [];
  readonly specs: WeightSpec[] = [];
  readonly values: (Float32Array | Int32Array)[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly params: Map<string, { shape: number[]; values: Float32Array }>) {}

  private emit(name: string, op: string, input: string[], attr: Record<string, AttrValue>, shape: number[]): Sym {
    if (this.names.has(name)) throw new Error(`graph node ${name} declared twice`);
    this.names.add(name);
    this.nodes.push({ name, op, ...(input.length > 0 ? { input } : {}), attr });
    return { node: name, shape };
  }

  private unique(base: string): string {
    if (!this.names.has(base)) return base;
    for (let i = 1; ; i++) if (!this.names.has(`${base}_${i}`)) return `${base}_${i}`;
  }

  constant(name: string, kind: 'float32' | 'int32', shape: number[], values: Float32Array | Int32Array): Sym {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`constant ${name}: ${values.length} values for shape [${shape}]`);
    this.specs.push({ name, shape: [...shape], dtype: kind });
    this.values.push(values);
    return this.emit(name, 'Const', [], { dtype: dtype(kind), value: { tensor: { dtype: DT[kind], tensorShape: shapeAttr(shape) } } }, shape);
  }

  private intConst(base: string, values: number[], scalar = false): Sym {
    return this.constant(this.unique(base), 'int32', scalar ? [] : [values.length], Int32Array.from(values));
  }

  param(name: string): Sym {
    if (this.names.has(name)) return { node: name, shape: this.params.get(name)!.shape };
    const p = this.params.get(name);
    if (!p) throw new Error(`missing parameter ${name}`);
    return this.constant(name, 'float32', p.shape, p.values);
  }

  placeholder(name: string, kind: 'float32' | 'int32', shape: number[]): Sym {
    return this.emit(name, 'Placeholder', [], { dtype: dtype(kind), shape: { shape: shapeAttr(shape) } }, shape);
  }

  op(base: string, op: string, input: Sym[], shape: number[], attr: Record<string, AttrValue> = {}, withT = true): Sym {
    return this.emit(this.unique(base), op, input.map((s) => s.node), withT ? { T: dtype('float32'), ...attr } : attr, shape);
  }

  reshape(base: string, x: Sym, shape: number[]): Sym {
    return this.op(`${base}/Reshape`, 'Reshape', [x, this.intConst(`${base}/Reshape/shape`, [-1, ...shape.slice(1)])], shape, { Tshape: dtype('int32') });
  }

  gather(base: string, table: Sym, indices: Sym): Sym {
    const axis = this.intConst(`${base}/GatherV2/axis`, [0], true);
    return this.op(`${base}/GatherV2`, 'GatherV2', [table, indices, axis], [indices.shape[0], ...table.shape.slice(1)], {
      Tparams: dtype('float32'),
      Tindices: dtype('int32'),
      Taxis: dtype('int32'),
      batch_dims: { i: '0' },
    }, false);
  }

  shape(x: Sym): number[] {
    return x.shape;
  }
  conv(name: string, x: Sym, outChannels: number, kernel: 1 | 3, stride: 1 | 2): Sym {
    const [n, h, w] = x.shape;
    const shape = [n, samePadding(h, kernel, stride).out, samePadding(w, kernel, stride).out, outChannels];
    const y = this.op(`${name}/Conv2D`, 'Conv2D', [x, this.param(`${name}.kernel`)], shape, {
      strides: ints([1, stride, stride, 1]),
      padding: { s: base64('SAME') },
      data_format: { s: base64('NHWC') },
      dilations: ints([1, 1, 1, 1]),
      use_cudnn_on_gpu: { b: true },
      explicit_paddings: { list: { i: [] } },
    });
    return this.op(`${name}/BiasAdd`, 'BiasAdd', [y, this.param(`${name}.bias`)], shape, { data_format: { s: base64('NHWC') } });
  }
  dense(name: string, x: Sym, out: number): Sym {
    const y = this.op(`${name}/MatMul`, 'MatMul', [x, this.param(`${name}.kernel`)], [x.shape[0], out], { transpose_a: { b: false }, transpose_b: { b: false } });
    return this.op(`${name}/BiasAdd`, 'BiasAdd', [y, this.param(`${name}.bias`)], [x.shape[0], out], { data_format: { s: base64('NHWC') } });
  }
  /** The label input arrives as cleaned class indices: gathering a row is the one-hot product. */
  embed(name: string, labels: Sym): Sym {
    return this.gather(name, this.param(`${name}.table`), labels);
  }
  groupNorm(name: string, x: Sym, groups: number): Sym {
    const [n, h, w, c] = x.shape;
    const grouped = this.reshape(name, x, [n, h * w, groups, c / groups]);
    const axes = this.intConst(`${name}/moments/axes`, [1, 3]);
    const stat = [n, 1, groups, 1];
    const mean = this.op(`${name}/moments/mean`, 'Mean', [grouped, axes], stat, { Tidx: dtype('int32'), keep_dims: { b: true } });
    const centred = this.op(`${name}/moments/Sub`, 'Sub', [grouped, mean], grouped.shape);
    const variance = this.op(`${name}/moments/variance`, 'Mean', [this.op(`${name}/moments/Square`, 'Square', [centred], grouped.shape), axes], stat, {
      Tidx: dtype('int32'),
      keep_dims: { b: true },
    });
    const epsilon = this.constant(this.unique(`${name}/epsilon`), 'float32', [], Float32Array.of(1e-5));
    const inv = this.op(`${name}/Rsqrt`, 'Rsqrt', [this.op(`${name}/add_eps`, 'AddV2', [variance, epsilon], stat)], stat);
    const normed = this.reshape(`${name}/out`, this.op(`${name}/normalize`, 'Mul', [centred, inv], grouped.shape), x.shape);
    const scaled = this.op(`${name}/mul_gamma`, 'Mul', [normed, this.param(`${name}.gamma`)], x.shape);
    return this.op(`${name}/add_beta`, 'AddV2', [scaled, this.param(`${name}.beta`)], x.shape);
  }
  groupNormSilu(name: string, x: Sym, groups: number): Sym {
    return this.silu(this.groupNorm(name, x, groups));
  }
  silu(x: Sym): Sym {
    return this.op(`${x.node}/silu`, 'Mul', [x, this.op(`${x.node}/Sigmoid`, 'Sigmoid', [x], x.shape)], x.shape);
  }
  add(a: Sym, b: Sym): Sym {
    return this.op(`${a.node}/add`, 'AddV2', [a, b], a.shape);
  }
  addChannels(x: Sym, v: Sym): Sym {
    const c = v.shape[1];
    return this.op(`${x.node}/add_channels`, 'AddV2', [x, this.reshape(v.node, v, [v.shape[0], 1, 1, c])], x.shape);
  }
  concat(a: Sym, b: Sym): Sym {
    const axis = this.intConst(`${a.node}/concat/axis`, [3], true);
    return this.op(`${a.node}/concat`, 'ConcatV2', [a, b, axis], [a.shape[0], a.shape[1], a.shape[2], a.shape[3] + b.shape[3]], { N: { i: '2' }, Tidx: dtype('int32') });
  }
  upsample(x: Sym, height: number, width: number): Sym {
    const [n, h, w, c] = x.shape;
    const size = this.intConst(`${x.node}/resize/size`, [2 * h, 2 * w]);
    const up = this.op(`${x.node}/resize`, 'ResizeNearestNeighbor', [x, size], [n, 2 * h, 2 * w, c], {
      align_corners: { b: false },
      half_pixel_centers: { b: false },
    });
    if (height === 2 * h && width === 2 * w) return up;
    const begin = this.intConst(`${up.node}/crop/begin`, [0, 0, 0, 0]);
    const extent = this.intConst(`${up.node}/crop/size`, [-1, height, width, -1]);
    return this.op(`${up.node}/crop`, 'Slice', [up, begin, extent], [n, height, width, c], { Index: dtype('int32') });
  }
}

/** The graph model of a config and its weights (layout order): model.json and its one weight shard. */
export function exportGraphModel(config: ModelConfig, weights: Float32Array, options: GraphExportOptions): { modelJson: GraphModelJson; weightData: ArrayBuffer } {
  const layout = modelLayout(config);
  if (weights.length !== layout.total) throw new Error(`exportGraphModel: ${weights.length} weights given, the layout of this config has ${layout.total}`);
  const T = options.timesteps;
  if (!Number.isInteger(T) || T < 1) throw new Error(`exportGraphModel: timesteps must be a positive integer, got ${T}`);
  const params = new Map(layout.entries.map((e) => [e.name, { shape: e.shape, values: weights.subarray(e.offset, e.offset + e.size) }]));
  const ops = new GraphOps(params);
  // Every layout tensor first, in layout order: the shard begins with exactly the raw weights.
  for (const e of layout.entries) ops.param(e.name);

  const { imageSize: size, channels, embedDim, numClasses } = config;
  const x = ops.placeholder('x', 'float32', [-1, size, size, channels]);
  const t = ops.placeholder('t', 'int32', [-1]);
  const steps = Array.from({ length: T }, (_, i) => i);
  const table = ops.constant('time.features', 'float32', [T, embedDim], timeFeatures(steps, embedDim));
  const feats = ops.gather('time.features', table, t);
  let labels: Sym | null = null;
  if (numClasses > 0) {
    const label = ops.placeholder('label', 'int32', [-1]);
    const compare = (name: string, op: string, bound: number) =>
      ops.op(`label/${name}`, op, [label, ops.constant(`label/${name}/y`, 'int32', [], Int32Array.of(bound))], [-1], { T: dtype('int32') }, false);
    const outside = ops.op('label/outside', 'LogicalOr', [compare('Less', 'Less', 0), compare('GreaterEqual', 'GreaterEqual', numClasses)], [-1], {}, false);
    const none = ops.constant('label/none', 'int32', [], Int32Array.of(numClasses));
    labels = ops.op('label/clean', 'SelectV2', [outside, none, label], [-1], { T: dtype('int32') }, false);
  }
  const out = unet(ops, config, x, feats, labels);
  ops.op('eps', 'Identity', [out], out.shape);

  const bytes = ops.values.reduce((n, v) => n + v.length * 4, 0);
  const weightData = new ArrayBuffer(bytes);
  let offset = 0;
  for (const v of ops.values) {
    if (v instanceof Float32Array) new Float32Array(weightData, offset, v.length).set(v);
    else new Int32Array(weightData, offset, v.length).set(v);
    offset += v.length * 4;
  }
  const sig = (name: string, kind: keyof typeof DT, shape: number[]): TensorSignature => ({ name: `${name}:0`, dtype: DT[kind], tensorShape: shapeAttr(shape) });
  const modelJson: GraphModelJson = {
    format: 'graph-model',
    generatedBy: '@fedbit/diffusion',
    convertedBy: '@fedbit/diffusion exportGraphModel (GraphDef written directly, no converter)',
    modelTopology: { node: ops.nodes, library: {}, versions: { producer: 1, minConsumer: 0 } },
    signature: {
      inputs: {
        x: sig('x', 'float32', [-1, size, size, channels]),
        t: sig('t', 'int32', [-1]),
        ...(numClasses > 0 ? { label: sig('label', 'int32', [-1]) } : {}),
      },
      outputs: { eps: sig('eps', 'float32', [-1, size, size, channels]) },
    },
    userDefinedMetadata: { fedbit: { config, timesteps: T, prediction: 'eps', ...options.metadata } },
    weightsManifest: [{ paths: [GRAPH_WEIGHTS_FILE], weights: ops.specs }],
  };
  return { modelJson, weightData };
}
