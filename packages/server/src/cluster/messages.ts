// The messages aggregator nodes send each other over Redis pub/sub (bus.ts), one schema each. A
// node's devices' control messages go to the leader (join, telemetry, progress, probe, an update's
// metadata, gone; small JSON, checked on the node first with the device protocol's own schemas);
// a join carries the hashes of the device's resume tokens (the one its hello presents, the one it gets
// if it is new), never a token: the hello goes without it, and the node gives the device its token;
// the leader tells every node when a round opens (its plan), closes (send your partial sum), and
// commits, and when it takes over. Update frames never cross nodes.
import { z } from 'zod';
import { HelloSchema, ModelRefSchema, ProgressSchema, TelemetrySchema, UpdateMetaSchema } from '@fedbit/core';
import { ConfigPatchSchema } from '../config';
import { TokenHashSchema } from '../devices/join';

const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, 1 to 64 long');
const deviceId = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/);
const connectionId = z.string().min(1).max(64);
const term = z.number().int().positive();
const requestId = z.string().min(1).max(80);
const round = z.number().int().positive();

const fromNode = { from: nodeId, term };
const aboutDevice = { deviceId, connectionId };

/** A node to the leader; `term` is the leader's term as the node knows it. */
export const NodeRequestSchema = z.discriminatedUnion('kind', [
  /** A join: the hello without its resume token; `presented` the token's SHA-256 (null: none), `fresh` the SHA-256 of the token the node gives the device if it joins as new. */
  z.object({ kind: z.literal('join'), id: requestId, ...fromNode, connectionId, hello: HelloSchema.omit({ resumeToken: true }), presented: TokenHashSchema.nullable(), fresh: TokenHashSchema }).strict(),
  z.object({ kind: z.literal('telemetry'), id: requestId, ...fromNode, ...aboutDevice, telemetry: TelemetrySchema }).strict(),
  z.object({ kind: z.literal('update'), id: requestId, ...fromNode, ...aboutDevice, meta: UpdateMetaSchema, bytes: z.number().int().positive() }).strict(),
  z.object({ kind: z.literal('probe'), ...fromNode, ...aboutDevice, bytes: z.number().int().positive() }).strict(),
  z.object({ kind: z.literal('progress'), ...fromNode, ...aboutDevice, progress: ProgressSchema }).strict(),
  z.object({ kind: z.literal('gone'), ...fromNode, ...aboutDevice, left: z.boolean() }).strict(),
  /** The admin started, paused or stopped the run on a node that does not lead: the leader records it in Redis and acts on it. */
  z.object({ kind: z.literal('control'), id: requestId, ...fromNode, action: z.enum(['start', 'pause', 'stop']) }).strict(),
  /** The admin patched the run's config on a node that does not lead: the leader checks it, records it in Redis and applies it. */
  z.object({ kind: z.literal('config'), id: requestId, ...fromNode, patch: ConfigPatchSchema }).strict(),
  /** Answer to round-close: the node's partial sum of `round` is in Redis (partial:<round>:<node>). */
  z.object({ kind: z.literal('partial-ready'), ...fromNode, round }).strict(),
]);

/** One selected device of a round as the node it is connected to needs it: to check and merge its update. */
export const PlannedSlotSchema = z.object({ deviceId, bits: z.number().int().min(1).max(32), steps: z.number().int().positive(), weight: z.number().positive().finite() }).strict();

/** The leader to every node; `term` is its fencing token, checked against the lease in Redis. */
export const LeaderMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('round-open'), ...fromNode, round, deadlineAt: z.number(), model: ModelRefSchema, clipNorm: z.number().positive().finite().nullable(), length: z.number().int().positive(), slots: z.array(PlannedSlotSchema) }).strict(),
  z.object({ kind: z.literal('round-close'), ...fromNode, round, nodes: z.array(nodeId) }).strict(),
  z.object({ kind: z.literal('committed'), ...fromNode, round: z.number().int().nonnegative() }).strict(),
  /** A new leader: every node registers its connected devices again. */
  z.object({ kind: z.literal('leader'), ...fromNode }).strict(),
]);

/** The leader's answer to a request with an id. */
export const ReplySchema = z.object({ kind: z.literal('reply'), id: requestId, from: nodeId, body: z.unknown() }).strict();

export const BusMessageSchema = z.union([NodeRequestSchema, LeaderMessageSchema, ReplySchema]);

export type NodeRequest = z.infer<typeof NodeRequestSchema>;
export type LeaderMessage = z.infer<typeof LeaderMessageSchema>;
export type Reply = z.infer<typeof ReplySchema>;
export type BusMessage = z.infer<typeof BusMessageSchema>;
export type PlannedSlot = z.infer<typeof PlannedSlotSchema>;
