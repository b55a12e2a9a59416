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
}

export interface ModelEncoding {
  bits: 16 | 32;
  blockSize: number;
}

export class ModelVersions {
  private readonly byVersion = new Map<number, ModelResource>();
  /** A node of a cluster: where a version another node published is read from (Redis), or null. */
  source: ((version: number) => Promise<Uint8Array | null>) | null = null;

  /** `keep`: how many of the newest versions stay servable (at least 1). */
  constructor(readonly keep: number) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
  }

  /**
   * The resource of model `version` with these weights, encoded and hashed the first time only (a
   * version's weights never change: the global model changes exactly when the version does). The
   * frame's header carries the version the task trains toward, version + 1, as it always has.
   */
  publish(version: number, weights: Float32Array, encoding: ModelEncoding): ModelRef {
    const resource = this.byVersion.get(version) ?? this.keepFrame(version, encodeUpdate(weights, { bits: encoding.bits, round: version + 1, blockSize: encoding.blockSize, seed: version + 1 }));
    return { version: resource.version, sha256: resource.sha256, bytes: resource.bytes };
  }

  /** Keeps an encoded model frame as `version` (hashed here); a cluster node keeps what the leader published. */
  keepFrame(version: number, frame: Uint8Array): ModelResource {
    const resource = { version, sha256: createHash('sha256').update(frame).digest('hex'), bytes: frame.byteLength, frame };
    this.byVersion.set(version, resource);
    this.evict();
    return resource;
  }

  /** The kept resource of `version`, or in a cluster the one read from the source (then kept), or undefined. */
  async find(version: number): Promise<ModelResource | undefined> {
    const kept = this.byVersion.get(version);
    if (kept || !this.source) return kept;
    const frame = await this.source(version);
    return frame ? this.keepFrame(version, frame) : undefined;
  }

  /** The kept resource of `version`, or undefined. */
  get(version: number): ModelResource | undefined {
    return this.byVersion.get(version);
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
