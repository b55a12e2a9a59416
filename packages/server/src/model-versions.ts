// The global model, once per version: encoded and hashed once when a task first needs that version,
// then served to every device over HTTP (model-http.ts) as an immutable resource named by its
// SHA-256, instead of a copy inside every device's socket. A task names the version and the hash
// (core's ModelRef); the device fetches it or reuses the copy it has, and checks the hash.
//
// Only the newest few versions are kept: those a task in flight can still train from (sync: the
// open round's; async: up to maxStaleness back, bounded), so memory stays a few frames however
// long the run is. A request for an older version gets a 404 that says so.
import { createHash } from 'node:crypto';
import { encodeUpdate, type ModelRef } from '@fedbit/core';

export interface ModelResource extends ModelRef {
  /** The encoded model frame (float32, or IEEE half with downlinkBits 16), exactly the bytes hashed. */
  readonly frame: Uint8Array;
  /** Weights it holds: the whole model's, or a split run's front. */
  readonly length: number;
}

export interface ModelEncoding {
  bits: 16 | 32;
  blockSize: number;
}

export class ModelVersions {
  /** Per version, its resources: the whole model, and in a split run the front as well (split tasks fetch the front only). */
  private readonly byVersion = new Map<number, ModelResource[]>();
  /** A node of a cluster: where a version another node published is read from (Redis), and its length in weights (the whole model's); or null. */
  source: { read: (version: number) => Promise<Uint8Array | null>; length: number } | null = null;

  /** `keep`: how many of the newest versions stay servable (at least 1). */
  constructor(readonly keep: number) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
  }

  /**
   * The resource of model `version` with these weights, encoded and hashed the first time only (a
   * version's weights never change: the global model changes exactly when the version does). The
   * frame's header carries the version the task trains toward, version + 1, as it always has.
   * A version may have one resource per length: the whole model, and a split run's front (a prefix).
   */
  publish(version: number, weights: Float32Array, encoding: ModelEncoding): ModelRef {
    const kept = this.byVersion.get(version) ?? [];
    const resource =
      kept.find((r) => r.length === weights.length) ??
      this.keepFrame(version, encodeUpdate(weights, { bits: encoding.bits, round: version + 1, blockSize: encoding.blockSize, seed: version + 1 }), weights.length);
    return { version: resource.version, sha256: resource.sha256, bytes: resource.bytes };
  }

  /** Keeps an encoded model frame of `length` weights as a resource of `version` (hashed here); a cluster node keeps what the leader published. */
  keepFrame(version: number, frame: Uint8Array, length: number): ModelResource {
    const resource = { version, sha256: createHash('sha256').update(frame).digest('hex'), bytes: frame.byteLength, frame, length };
    this.byVersion.set(version, [...(this.byVersion.get(version) ?? []), resource]);
    this.evict();
    return resource;
  }

  /**
   * The resources kept for `version`, first reading it from the cluster's source when this node has
   * none (a cluster runs whole-model rounds only: the source holds the whole model).
   */
  async find(version: number): Promise<ModelResource[]> {
    const kept = this.byVersion.get(version);
    if (kept || !this.source) return kept ?? [];
    const frame = await this.source.read(version);
    return frame ? [this.keepFrame(version, frame, this.source.length)] : [];
  }

  /** The kept resource of `version` with this SHA-256 (without one: the first published, the whole model), or undefined. */
  get(version: number, sha256?: string): ModelResource | undefined {
    const kept = this.byVersion.get(version);
    return sha256 === undefined ? kept?.[0] : kept?.find((r) => r.sha256 === sha256);
  }

  /** The SHA-256 of every resource kept for `version`. */
  hashes(version: number): string[] {
    return (this.byVersion.get(version) ?? []).map((r) => r.sha256);
  }

  /** The versions kept now, oldest first. */
  get versions(): number[] {
    return [...this.byVersion.keys()].sort((a, b) => a - b);
  }

  private evict(): void {
    const versions = this.versions;
    for (const version of versions.slice(0, Math.max(0, versions.length - this.keep))) this.byVersion.delete(version);
  }
}
