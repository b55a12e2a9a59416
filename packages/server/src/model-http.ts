// The HTTP face of the model versions (model-versions.ts): GET or HEAD
// /api/model/v/<version>/<sha256>.bin, immutable and cacheable by anyone in between (RFC 9111:
// Cache-Control public, a year, immutable per RFC 8246), with an ETag for If-None-Match (304) and a
// single byte range (RFC 9110 section 14: 206 with Content-Range; a range that is malformed, asks
// for several parts, or lies past the end is answered 416 with the reason). Like /api/model (the same
// weights in the TensorFlow.js format), it needs no join code: the global model is not a secret in
// this design (docs/SECURITY.md), and a public resource is what lets a cache in front serve it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BASE_PATH_PATTERN, MODEL_PATH_PATTERN, basePath, modelPath } from '@fedbit/core';
import type { BaseResource } from './lora-base';
import type { ModelVersions } from './model-versions';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export type ByteRange = { ok: true; start: number; end: number } | { ok: false; reason: string };

/** Parses a Range header against a resource of `size` bytes: one range, inclusive ends, clamped to the size. */
export function parseByteRange(header: string, size: number): ByteRange {
  const expected = 'expected one range: bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX_LENGTH';
  const text = header.trim();
  if (!text.startsWith('bytes=')) return { ok: false, reason: `range unit in "${text.slice(0, 40)}" is not bytes; ${expected}` };
  if (text.includes(',')) return { ok: false, reason: `several ranges asked for; ${expected}` };
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)$/.exec(text);
  if (!match || (match[1] === '' && match[2] === '')) return { ok: false, reason: `malformed range "${text.slice(0, 60)}"; ${expected}` };
  const last = size - 1;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return { ok: false, reason: `a suffix of 0 bytes selects nothing; the resource has ${size} bytes` };
    return { ok: true, start: Math.max(0, size - suffix), end: last };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? last : Number(match[2]);
  if (start > last) return { ok: false, reason: `range starts at byte ${start}; the resource has ${size} bytes (0-${last})` };
  if (end < start) return { ok: false, reason: `range ${start}-${end} ends before it starts; ${expected}` };
  return { ok: true, start, end: Math.min(end, last) };
}

/** True if an If-None-Match list names this ETag (weak comparison, RFC 9110 section 13.1.2), or is "*". */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify({ error: message }));
}

/** Answers a request whose path starts with /api/model/v/. */
export async function serveModelVersion(req: IncomingMessage, res: ServerResponse, path: string, versions: ModelVersions): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, `${method} is not served here; a model version is read with GET or HEAD`, { allow: 'GET, HEAD' });
  const match = MODEL_PATH_PATTERN.exec(path);
  if (!match) {
    return sendError(res, 400, `the path ${path.slice(0, 120)} names no model version; expected /api/model/v/<version>/<sha256>.bin with a decimal version and 64 lower-case hexadecimal digits`);
  }
  const version = Number(match[1]);
  // A cluster node reads a version another node published (model-versions.ts source) before answering.
  await versions.find(version);
  const kept = versions.versions;
  const hashes = versions.hashes(version);
  if (hashes.length === 0) {
    const which = kept.length ? `versions ${kept.join(', ')} are` : 'no version is';
    return sendError(res, 404, `model version ${version} is not kept here (${which}); a device gets the newest with its next task`);
  }
  const resource = versions.get(version, match[2]);
  if (!resource) {
    const first = versions.get(version)!;
    const also = hashes.length > 1 ? ` (or, a split run's front, ${hashes.slice(1).join(', ')})` : '';
    return sendError(res, 404, `model version ${version} has SHA-256 ${first.sha256}${also}, not ${match[2]}; fetch ${modelPath(first)}`);
  }
  serveImmutable(req, res, resource.sha256, resource.frame);
}

/**
 * Answers a request whose path starts with /api/model/base/: a LoRA run's frozen base, one 16-bit
 * frame fetched once per device per run, immutable and public like the model versions.
 */
export function serveBase(req: IncomingMessage, res: ServerResponse, path: string, base: BaseResource | null): void {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, `${method} is not served here; the base is read with GET or HEAD`, { allow: 'GET, HEAD' });
  const match = BASE_PATH_PATTERN.exec(path);
  if (!match) return sendError(res, 400, `the path ${path.slice(0, 120)} names no base; expected /api/model/base/<sha256>.bin with 64 lower-case hexadecimal digits`);
  if (!base) return sendError(res, 404, 'this run trains the full model: it has no LoRA base');
  if (base.frameSha256 !== match[1]) return sendError(res, 404, `this run's base '${base.name}' has SHA-256 ${base.frameSha256}, not ${match[1]}; fetch ${basePath({ sha256: base.frameSha256 })}`);
  serveImmutable(req, res, base.frameSha256, base.frame);
}

/** An immutable resource named by its SHA-256: ETag, If-None-Match, one byte range, HEAD. */
function serveImmutable(req: IncomingMessage, res: ServerResponse, sha256: string, frame: Uint8Array): void {
  const method = req.method ?? 'GET';
  const etag = `"${sha256}"`;
  const common = {
    etag,
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    // Public and immutable: any page may read it (a dev server on another origin, a CDN's edge).
    'access-control-allow-origin': '*',
  };
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && noneMatch(ifNoneMatch, etag)) {
    res.writeHead(304, { etag, 'cache-control': IMMUTABLE });
    res.end();
    return;
  }
  const size = frame.byteLength;
  let body = frame;
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  // If-Range with another validator: the client's partial copy is of something else, so send it all.
  if (rangeHeader && (ifRange === undefined || String(ifRange).trim() === etag)) {
    const range = parseByteRange(rangeHeader, size);
    if (!range.ok) return sendError(res, 416, range.reason, { 'content-range': `bytes */${size}` });
    body = frame.subarray(range.start, range.end + 1);
    res.writeHead(206, { ...common, 'content-range': `bytes ${range.start}-${range.end}/${size}`, 'content-length': String(body.byteLength) });
  } else {
    res.writeHead(200, { ...common, 'content-length': String(size) });
  }
  if (method === 'HEAD') res.end();
  else res.end(body);
}
