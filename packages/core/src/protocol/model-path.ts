// Where the aggregator serves each model version: one immutable resource per version, named by the
// SHA-256 of its bytes, so a browser cache, a reverse proxy or a CDN may keep it for good
// (docs/PROTOCOL.md, "The model, once per version"). Both sides build and read the path here.

/** The path of a model version's frame: /api/model/v/<version>/<sha256>.bin. */
export function modelPath(ref: { version: number; sha256: string }): string {
  return `/api/model/v/${ref.version}/${ref.sha256}.bin`;
}

/** Anything under this prefix is a request for a model version. */
export const MODEL_PATH_PREFIX = '/api/model/v/';

/** A well-formed model path: a decimal version (no leading zeros) and 64 lower-case hex digits. */
export const MODEL_PATH_PATTERN = /^\/api\/model\/v\/(0|[1-9]\d{0,9})\/([0-9a-f]{64})\.bin$/;

/**
 * The path of a LoRA run's frozen base: /api/model/base/<sha256>.bin, the base's weights as one
 * 16-bit frame (IEEE half), fetched once per run and checked against the SHA-256 the welcome names.
 */
export function basePath(ref: { sha256: string }): string {
  return `/api/model/base/${ref.sha256}.bin`;
}

/** Anything under this prefix is a request for a LoRA run's base. */
export const BASE_PATH_PREFIX = '/api/model/base/';

/** A well-formed base path: 64 lower-case hex digits. */
export const BASE_PATH_PATTERN = /^\/api\/model\/base\/([0-9a-f]{64})\.bin$/;
