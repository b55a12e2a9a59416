// The run directory: everything a run needs to survive `kill -9` and continue with --resume.
//
//   config.json       the resolved run config (written at creation and after each admin patch)
//   checkpoint.bin    the last completed round: JSON state + the global weights, in ONE file written
//                     atomically (temporary file, fsync, rename, fsync of the directory), so state and
//                     weights can never disagree
//   metrics.jsonl     a line per round ({"type":"round"}) and per device-round ({"type":"device"})
//   model/            the latest global model: model.json + group1-shard1of1.bin (TensorFlow.js graph
//                     model), model.safetensors (PyTorch), fedbit-ddpm.json + weights.bin (our format)
//
// A round counts as completed once its checkpoint is renamed into place. metrics.jsonl is appended
// after that; on resume, lines of rounds past the checkpoint are dropped and a missing line for the
// checkpointed round is rewritten from the checkpoint, so the two always agree.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundSummary } from '@fedbit/core';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointState } from './checkpoint';
import type { RunConfig } from './config';

export { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointState } from './checkpoint';

/** Writes bytes to path atomically: a crash leaves either the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}

export class RunStore {
  private constructor(readonly dir: string) {}

  static create(dir: string, config: RunConfig): RunStore {
    if (existsSync(join(dir, 'checkpoint.bin'))) {
      throw new Error(`run directory ${dir} already holds a run; pass --resume ${dir} to continue it, or choose another --run-dir`);
    }
    // The run directory holds the admin token, the join code and every device's metrics: owner only.
    mkdirSync(join(dir, 'model'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const store = new RunStore(dir);
    store.writeConfig(config);
    return store;
  }

  /** The resolved config, rewritten whole (atomically) when the admin patches it, so --resume continues with the patch. */
  writeConfig(config: RunConfig): void {
    writeFileAtomic(join(this.dir, 'config.json'), [new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n')]);
  }

  static open(dir: string): { store: RunStore; config: unknown; checkpoint: Checkpoint | null } {
    const configPath = join(dir, 'config.json');
    if (!existsSync(configPath)) throw new Error(`--resume ${dir}: no config.json there; expected a run directory written by fedbit`);
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
    const store = new RunStore(dir);
    mkdirSync(join(dir, 'model'), { recursive: true });
    const checkpoint = store.readCheckpoint();
    store.reconcileMetrics(checkpoint?.state ?? null);
    return { store, config, checkpoint };
  }

  get checkpointPath(): string {
    return join(this.dir, 'checkpoint.bin');
  }
  get metricsPath(): string {
    return join(this.dir, 'metrics.jsonl');
  }

  readCheckpoint(): Checkpoint | null {
    if (!existsSync(this.checkpointPath)) return null;
    return decodeCheckpoint(new Uint8Array(readFileSync(this.checkpointPath)), this.checkpointPath);
  }

  /** Commits a completed round: the checkpoint first (the commit point), then its metrics lines. */
  commitRound(state: CheckpointState, weights: Float32Array, ema?: Float32Array | null): void {
    let saved = weights;
    if (ema) {
      saved = new Float32Array(weights.length * 2);
      saved.set(weights);
      saved.set(ema, weights.length);
    }
    writeFileAtomic(this.checkpointPath, encodeCheckpoint(state, saved));
    if (state.lastSummary) this.appendMetrics(state.lastSummary);
  }

  /** Files in the order given: the caller puts weights before the JSON that points at them. */
  writeModel(files: { name: string; bytes: Uint8Array }[]): void {
    for (const file of files) writeFileAtomic(join(this.dir, 'model', file.name), [file.bytes]);
  }

  /** A file in the run directory itself (a LoRA run's sample grids: samples-base.png, samples.png). */
  writeFile(name: string, bytes: Uint8Array): void {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`run directory file name ${JSON.stringify(name)}: letters, digits, dot, _ or - expected`);
    writeFileAtomic(join(this.dir, name), [bytes]);
  }

  readSummaries(): RoundSummary[] {
    return this.readMetricLines()
      .filter((line) => line.type === 'round')
      .map((line) => line.summary as RoundSummary);
  }

  private appendMetrics(summary: RoundSummary): void {
    const { devices, ...round } = summary;
    const lines = [JSON.stringify({ type: 'round', round: summary.round, summary: { ...round, devices } })];
    for (const device of devices) lines.push(JSON.stringify({ type: 'device', round: summary.round, ...device }));
    const fd = openSync(this.metricsPath, 'a');
    try {
      writeSync(fd, lines.join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private readMetricLines(): Array<Record<string, unknown>> {
    if (!existsSync(this.metricsPath)) return [];
    const out: Array<Record<string, unknown>> = [];
    for (const text of readFileSync(this.metricsPath, 'utf8').split('\n')) {
      if (!text.trim()) continue;
      try {
        out.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // A line torn by a crash mid-append: dropped here, rewritten from the checkpoint below.
      }
    }
    return out;
  }

  /** Makes metrics.jsonl agree with the checkpoint after a crash. */
  private reconcileMetrics(state: CheckpointState | null): void {
    const completed = state?.round ?? 0;
    const lines = this.readMetricLines().filter((line) => typeof line.round === 'number' && line.round <= completed);
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    writeFileAtomic(this.metricsPath, [new TextEncoder().encode(text ? text + '\n' : '')]);
    const hasLast = lines.some((line) => line.type === 'round' && line.round === completed);
    if (state?.lastSummary && !hasLast) this.appendMetrics(state.lastSummary);
  }
}
