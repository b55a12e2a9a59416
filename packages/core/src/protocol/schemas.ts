// The wire protocol between a device and the aggregator: event names and the zod schemas of what a
// device sends (server-messages.ts holds what the aggregator sends), shared by
// packages/client and packages/server so both sides validate the same shapes. docs/PROTOCOL.md
// describes each event; keep the two in step.
import { z } from 'zod';
import { BACKENDS, DEVICE_CLASSES, PLATFORMS, PREFERENCES, RUN_PHASES } from '../vocabulary';
import { PROBE_LIMITS } from './limits';

/** 2: the task names its model (version, SHA-256) and the device fetches it over HTTP. */
export const PROTOCOL_VERSION = 2 as const;

/** Events a device sends. Every payload is validated by the schema of the same name before use. */
export const DeviceEvent = {
  hello: 'device:hello',
  telemetry: 'device:telemetry',
  probe: 'device:probe',
  progress: 'device:progress',
  update: 'device:update',
  leave: 'device:leave',
  /** Split learning (protocol/split.ts): one step's activations at the cut; the acknowledgement carries the gradient. */
  splitForward: 'split:forward',
  /** Split learning: the device finished its last step of the round (the server keeps that step). */
  splitEnd: 'split:end',
  /** Secure aggregation (protocol/secagg.ts): the four steps after training. */
  secaggAdvertise: 'secagg:advertise',
  secaggShare: 'secagg:share',
  secaggMasked: 'secagg:masked',
  secaggReveal: 'secagg:reveal',
} as const;

/** Events the aggregator sends. */
export const ServerEvent = {
  task: 'round:task',
  summary: 'round:summary',
  cancel: 'round:cancel',
  refused: 'device:refused',
  status: 'run:status',
  /** To devices: the run at a glance (RunBrief), so a device page can say what it waits for. */
  brief: 'run:brief',
  /** Secure aggregation: the roster and neighbors' keys, the sealed shares routed, who to unmask. */
  secaggRoster: 'secagg:roster',
  secaggShares: 'secagg:shares',
  secaggUnmask: 'secagg:unmask',
} as const;

export const DEVICE_EVENTS: readonly string[] = Object.values(DeviceEvent);

export const PreferenceSchema = z.enum(PREFERENCES);
export const DeviceClassSchema = z.enum(DEVICE_CLASSES);
export const BackendSchema = z.enum(BACKENDS);
export const RunPhaseSchema = z.enum(RUN_PHASES);
export const BitsSchema = z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)]);

const finite = () => z.number().refine(Number.isFinite, 'must be a finite number');

export const TelemetrySchema = z
  .object({
    /** 0..1, or null where the browser does not report it (navigator.getBattery is Chromium-only). */
    battery: z.number().min(0).max(1).nullable(),
    charging: z.boolean().nullable(),
    preference: PreferenceSchema,
    deviceClass: DeviceClassSchema,
    /** Transmit power in watts; default 0.2 W (23 dBm, 3GPP power class 3). */
    transmitPowerW: z.number().positive().max(10).optional(),
    /** Device throughput for the latency model, multiply-accumulates per second. */
    macsPerSecond: z.number().positive().max(1e15).optional(),
    /** navigator.connection, a hint only: Chromium caps downlink at 10 Mbps. */
    connectionHint: z
      .object({ downlinkMbps: z.number().nonnegative().max(1e5).optional(), effectiveType: z.string().max(16).optional() })
      .strict()
      .optional(),
    /** The backend the device trains on now (it may switch after timing each one). */
    backend: BackendSchema.optional(),
    /** The device's measured milliseconds per local training step at the run's batch size (its backend trial, then its rounds). */
    stepMs: z.number().positive().max(3.6e6).optional(),
    /** The device's own timing of its last upload: frame bytes and milliseconds from send to acknowledgement. */
    lastUpload: z.object({ bytes: z.number().int().positive(), ms: z.number().positive().max(3.6e6) }).strict().optional(),
    /** The device's own timing of its last model download over HTTP: bytes and milliseconds. */
    lastDownload: z.object({ bytes: z.number().int().positive(), ms: z.number().positive().max(3.6e6) }).strict().optional(),
  })
  .strict();

export const HelloSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    /** Present on a reconnect: the id the aggregator gave before. */
    deviceId: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'letters, digits, _ or -, 6 to 64 long').optional(),
    /** With deviceId: the secret the aggregator gave with that id. Without the right token the id is not this device's: it joins as new. */
    resumeToken: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'letters, digits, _ or -, 16 to 128 long').optional(),
    name: z.string().trim().min(1).max(64),
    platform: z.enum(PLATFORMS),
    backend: BackendSchema,
    adapter: z
      .object({ vendor: z.string().max(128), architecture: z.string().max(128), description: z.string().max(256).optional() })
      .strict()
      .optional(),
    userAgent: z.string().max(512).optional(),
    telemetry: TelemetrySchema,
  })
  .strict();

export const ProbeSchema = z.object({ bytes: z.number().int().positive().max(PROBE_LIMITS.maxAcceptedBytes) }).strict();

export const ProgressSchema = z
  .object({
    round: z.number().int().positive(),
    step: z.number().int().nonnegative(),
    steps: z.number().int().positive(),
    loss: finite(),
  })
  .strict();

export const UpdateMetaSchema = z
  .object({
    round: z.number().int().positive(),
    /** Local training samples behind this update: its FedAvg weight. */
    samples: z.number().int().positive().max(1e8),
    /** Local steps actually trained (time-budgeted work may stop before the task's localSteps). */
  steps: z.number().int().positive().max(1e6),
    trainMs: z.number().nonnegative().max(3.6e6),
    loss: finite(),
    /** ||local - global||^2 before quantization: the policy's estimate of V_k(n) for the next round. */
    updateNormSq: z.number().nonnegative().refine(Number.isFinite, 'must be finite'),
    /** max |local - global|: with the norm, it gives the codec's tight variance bound V_k(n). */
    updateMaxAbs: z.number().nonnegative().refine(Number.isFinite, 'must be finite').optional(),
    /** sum over blocks of len_b * max_b|local - global|^2 at the task's blockSize: the tightest V_k(n) (quant/variance.ts). */
    updateScaleSq: z.number().nonnegative().refine(Number.isFinite, 'must be finite').optional(),
  })
  .strict()
  // Every element is at most its block's scale, so S >= ||u||^2 (float32 sums: a relative slack).
  .refine((m) => m.updateScaleSq === undefined || m.updateScaleSq >= m.updateNormSq * (1 - 1e-5), {
    error: 'updateScaleSq must be at least updateNormSq (each block scale bounds its elements)',
    path: ['updateScaleSq'],
  });

export const LeaveSchema = z.object({ reason: z.string().max(200).optional() }).strict();

export type Telemetry = z.infer<typeof TelemetrySchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type Probe = z.infer<typeof ProbeSchema>;
export type Progress = z.infer<typeof ProgressSchema>;
export type UpdateMeta = z.infer<typeof UpdateMetaSchema>;
export type Leave = z.infer<typeof LeaveSchema>;

