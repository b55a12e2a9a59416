// A device joins: it gets an id (or keeps the one it had), a shard of the training data (handed out
// in turn), and the welcome that tells it the model, the data plan and the limits.
import { randomBytes } from 'node:crypto';
import type { Hello, RunMode, RunPhase, Welcome } from '@fedbit/core';
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
  /** The next shard to hand out; called only for a device the registry does not know. */
  takeShard(): number;
}

export interface Joined {
  device: Device;
  welcome: Welcome;
  rejoin: boolean;
  /** The connection the same device was on before, to be closed. */
  replacedConnection: string | null;
}

export function joinDevice(ctx: JoinContext, hello: Hello, connectionId: string): Joined {
  const known = hello.deviceId ? ctx.registry.get(hello.deviceId) : undefined;
  const id = known ? known.id : randomBytes(9).toString('base64url');
  const replacedConnection = known?.socketId && known.socketId !== connectionId ? known.socketId : null;
  const shard = known ? known.shard : ctx.takeShard();
  const device = ctx.registry.upsert(id, hello, connectionId, shard);
  const { config, host } = ctx;
  const welcome: Welcome = {
    deviceId: id,
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
    },
    maxUpdateBytes: ctx.maxUpdateBytes,
    batchSize: config.batchSize,
  };
  return { device, welcome, rejoin: Boolean(known), replacedConnection };
}
