// A device joins: it gets an id and a resume token (or keeps the id it had, if it proves it with
// that token), a shard of the training data (handed out in turn), and the welcome that tells it the
// model, the data plan and the limits. The id is a public handle (dashboards and summaries show it);
// the token is the credential: the aggregator keeps only its SHA-256, so neither its status, its
// logs nor its checkpoint can give a device's identity away.
import { createHash, randomBytes } from 'node:crypto';
import type { Hello, RunMode, RunPhase, Welcome } from '@fedbit/core';
import { z } from 'zod';
import type { RunConfig } from '../config';
import type { ModelHost } from '../model-host';
import type { Device, DeviceRegistry } from './registry';

export interface JoinContext {
  registry: DeviceRegistry;
  config: RunConfig;
  host: ModelHost;
  runId: string;
  mode: RunMode;
  phase: RunPhase;
  completed: number;
  maxUpdateBytes: number;
  /** The next seat (a counter of joins); called only for a device the registry does not know. Its shard is seat mod shards. */
  takeSeat(): number;
}

export interface Joined {
  device: Device;
  welcome: Welcome;
  rejoin: boolean;
  /** The connection the same device was on before, to be closed. */
  replacedConnection: string | null;
  /** The hello named a known id without its token: it joined as a new device instead. */
  claimRefused: boolean;
}

/** What the aggregator stores of a resume token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token's SHA-256 as tokenHash writes it: what a join record, a checkpoint or a cluster's forwarded join may carry. */
export const TokenHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'the hex SHA-256 of a resume token');

/**
 * A join's credentials, as hashes: the SHA-256 of the token the hello presents, and the token a
 * device new to the run gets with its SHA-256. A cluster's node computes them where the device is
 * connected and sends the leader the hashes only (token null there), so no token crosses Redis.
 */
export interface JoinCredentials {
  presented: string | null;
  fresh: { token: string | null; hash: string };
}

/** The credentials of a hello received here: its token hashed, and a new token drawn. */
export function credentialsOf(hello: Pick<Hello, 'resumeToken'>): JoinCredentials {
  const token = randomBytes(24).toString('base64url');
  return { presented: hello.resumeToken ? tokenHash(hello.resumeToken) : null, fresh: { token, hash: tokenHash(token) } };
}

/** The known device this hello may resume: its id and the hash of its token must both match. */
function provenDevice(registry: DeviceRegistry, hello: Hello, presented: string | null): Device | undefined {
  const known = hello.deviceId ? registry.get(hello.deviceId) : undefined;
  if (!known || presented === null || known.tokenHash === null) return undefined;
  return known.tokenHash === presented ? known : undefined;
}

export function joinDevice(ctx: JoinContext, hello: Hello, connectionId: string, credentials: JoinCredentials = credentialsOf(hello)): Joined {
  const known = provenDevice(ctx.registry, hello, credentials.presented);
  const claimRefused = Boolean(hello.deviceId && !known && ctx.registry.get(hello.deviceId));
  let id = known?.id;
  if (!id) {
    do id = randomBytes(9).toString('base64url');
    while (ctx.registry.get(id));
  }
  const resumeToken = known ? undefined : (credentials.fresh.token ?? undefined);
  const replacedConnection = known?.socketId && known.socketId !== connectionId ? known.socketId : null;
  const seat = known ? known.seat : ctx.takeSeat();
  const shard = known ? known.shard : seat % ctx.config.dataset.shards;
  const device = ctx.registry.upsert(id, hello, connectionId, seat, shard);
  if (!known) device.tokenHash = credentials.fresh.hash;
  const { config, host } = ctx;
  const welcome: Welcome = {
    deviceId: id,
    ...(resumeToken ? { resumeToken } : {}),
    runId: ctx.runId,
    round: ctx.completed,
    phase: ctx.phase,
    mode: ctx.mode,
    model: { ...host.modelConfig },
    layoutFingerprint: host.fingerprint,
    paramCount: host.paramCount,
    schedule: config.model.schedule,
    shard: {
      dataset: config.dataset.name,
      imageSize: config.dataset.imageSize,
      partition: config.dataset.partition,
      alpha: config.dataset.alpha,
      seed: config.seed,
      index: shard,
      count: config.dataset.shards,
      ...(host.groups ? { groups: host.groups } : {}),
    },
    maxUpdateBytes: ctx.maxUpdateBytes,
    batchSize: config.batchSize,
    ...(host.lora ? { lora: host.lora } : {}),
  };
  return { device, welcome, rejoin: Boolean(known), replacedConnection, claimRefused };
}
