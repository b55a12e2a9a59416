// The model a task trains from, fetched once per version over HTTP (the aggregator serves each version
// as an immutable resource named by its SHA-256: docs/PROTOCOL.md) or reused when this device already
// holds that version. Every download is checked against the SHA-256 the task named before anything
// decodes it: a copy that differs (a proxy or cache that altered it, a truncated transfer) is never
// trained on. The browser's HTTP cache may serve a repeat; a mismatch asks the aggregator once more,
// past every cache, before it gives up.
import { basePath, modelPath, sha256Hex, toHex, type LoraBrief, type ModelRef } from '@fedbit/core';

/** The downloaded bytes are not the model the task named. */
export class ModelIntegrityError extends Error {
  override readonly name = 'ModelIntegrityError';
}

export interface ModelCopy {
  frame: Uint8Array;
  /** The download's size and duration, or null when the copy this device held was reused. */
  download: { bytes: number; ms: number } | null;
}

/** SHA-256 in hex: WebCrypto where the page is a secure context (and in Node), core's otherwise. */
export async function sha256Of(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
  return sha256Hex(bytes);
}

/** Who named a download's hash and size, and what a copy that does not match them stops. */
interface NamedBy {
  namedBy: string;
  unused: string;
}

export class ModelFetcher {
  private held: { ref: ModelRef; frame: Uint8Array } | null = null;

  /** `baseUrl`: the aggregator's URL, which model paths resolve against. */
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** The version the device holds now, if any. */
  get holding(): ModelRef | null {
    return this.held?.ref ?? null;
  }

  /** The model `ref` names: the copy held, or a checked download. Throws ModelIntegrityError for a copy that does not match, Error for a failed download. */
  async get(ref: ModelRef, signal?: AbortSignal): Promise<ModelCopy> {
    const held = this.held;
    if (held && held.ref.version === ref.version && held.ref.sha256 === ref.sha256) return { frame: held.frame, download: null };
    const url = new URL(modelPath(ref), this.baseUrl).href;
    const copy = await this.checked(url, `the model of version ${ref.version} (${url})`, { namedBy: 'the task', unused: 'the task is not trained' }, ref.sha256, ref.bytes, signal);
    this.held = { ref, frame: copy.frame };
    return copy;
  }

  /**
   * A LoRA run's frozen base (welcome.lora.base), fetched once per run at its 16-bit frame and
   * checked against its SHA-256 like a model version; the caller keeps it for the run.
   */
  async getBase(base: LoraBrief['base'], signal?: AbortSignal): Promise<ModelCopy> {
    const url = new URL(basePath({ sha256: base.frameSha256 }), this.baseUrl).href;
    return this.checked(url, `the LoRA base '${base.name}' (${url})`, { namedBy: 'the welcome', unused: 'this device does not join the run\'s training' }, base.frameSha256, base.bytes, signal);
  }

  /** `by`: the message that named the resource's hash and size, and what a bad copy stops (said in every refusal). */
  private async checked(url: string, what: string, by: NamedBy, sha256: string, bytes: number, signal?: AbortSignal): Promise<ModelCopy> {
    const started = Date.now();
    let frame: Uint8Array;
    try {
      frame = await this.download(url, what, by, sha256, bytes, 'default', signal);
    } catch (error) {
      if (!(error instanceof ModelIntegrityError)) throw error;
      // A damaged copy in a cache would be served again: ask the aggregator itself, once.
      frame = await this.download(url, what, by, sha256, bytes, 'reload', signal);
    }
    return { frame, download: { bytes: frame.byteLength, ms: Math.max(1, Date.now() - started) } };
  }

  private async download(url: string, what: string, by: NamedBy, sha256: string, bytes: number, cache: RequestCache, signal?: AbortSignal): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { cache, signal });
    } catch {
      // Once more: a kept-alive connection the server closed just as the request went out fails like this.
      try {
        if (signal?.aborted) throw signal.reason;
        response = await this.fetchImpl(url, { cache, signal });
      } catch (error) {
        throw new Error(`cannot download ${what}: ${(error as Error).message}`);
      }
    }
    if (response.status !== 200) {
      const body = await response.text().catch(() => '');
      let reason = body.slice(0, 300);
      try {
        reason = String((JSON.parse(body) as { error?: unknown }).error ?? reason);
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`the aggregator answered ${response.status} for ${what}${reason ? `: ${reason}` : ''}`);
    }
    const frame = await readAtMost(response, bytes, what, by);
    const digest = await sha256Of(frame);
    if (digest !== sha256) {
      throw new ModelIntegrityError(`${what} has SHA-256 ${digest}, but ${by.namedBy} named ${sha256}: this copy was not used and ${by.unused}; something between this device and the aggregator (a proxy or cache) changed it`);
    }
    return frame;
  }
}

/** The body, refused once it passes `limit` bytes (never buffered past it) or if it ends short of it. */
async function readAtMost(response: Response, limit: number, what: string, by: NamedBy): Promise<Uint8Array> {
  const out = new Uint8Array(limit);
  let size = 0;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > limit) {
        await reader.cancel();
        throw new ModelIntegrityError(`${what} is longer than the ${limit} bytes ${by.namedBy} named: it was not used and ${by.unused}`);
      }
      out.set(value, size);
      size += value.byteLength;
    }
  }
  if (size !== limit) throw new ModelIntegrityError(`${what} has ${size} bytes, but ${by.namedBy} named ${limit}: it was not used and ${by.unused}`);
  return out;
}
