// What a device can ask of the engine, and nothing more: join, report telemetry and progress,
// upload an update, leave. The transport (transport/socket-io.ts) parses each message with its
// schema and calls one of these; they never see a socket.
import type { SplitReply } from '../split/split-server';
import type { Ack, Hello, Progress, Refusal, SecAggAdvertise, SecAggReveal, SecAggShare, SplitEnd, SplitForward, Telemetry, UpdateMeta } from '@fedbit/core';
import { joinDevice, type JoinCredentials, type Joined } from '../devices/join';
import type { Device } from '../devices/registry';
import { acceptUpdate } from './accounting';
import type { RoundContext } from './context';
import { sendTask } from './dispatch';
import { refusal, type OpenRound } from './open-round';
import type { AsyncEngine } from './run-async';
import type { SecureSteps } from './secure-steps';

/** What is under way right now, as the coordinator holds it. */
export interface LiveWork {
  openRound(): OpenRound | null;
  asyncRun(): AsyncEngine | null;
  secureSteps(): SecureSteps | null;
}

export class DeviceApi {
  constructor(
    private readonly ctx: RoundContext,
    private readonly live: LiveWork,
  ) {}

  /** A device joins or rejoins on a connection; a device still expected in the open round gets its task again. */
  join(hello: Hello, connectionId: string, credentials?: JoinCredentials): Joined {
    const { ctx } = this;
    const { config, run } = ctx;
    const joined = joinDevice(
      {
        registry: ctx.devices,
        config,
        host: ctx.host,
        runId: ctx.runId,
        mode: config.mode,
        phase: run.phase,
        completed: run.completed,
        maxUpdateBytes: ctx.maxUpdateBytes,
        takeSeat: () => run.nextSeat++,
      },
      hello,
      connectionId,
      credentials,
    );
    if (joined.replacedConnection) ctx.transport.disconnect(joined.replacedConnection);
    ctx.log.info({ device: joined.device.id, name: hello.name, backend: hello.backend, platform: hello.platform, rejoin: joined.rejoin }, 'device joined');
    const open = this.live.openRound();
    const slot = open?.rejoined(joined.device);
    if (open && slot) sendTask(ctx, slot, { round: open.round, version: open.round - 1, mode: 'sync', deadlineAt: open.deadlineAt, model: slot.model ?? open.model, secure: open.secure });
    this.changed();
    return joined;
  }

  /** The joined device on this connection (a cluster node names its devices by id and connection), or null. */
  deviceOn(deviceId: string, connectionId: string): Device | null {
    const device = this.ctx.devices.get(deviceId);
    return device && device.socketId === connectionId ? device : null;
  }

  /** New telemetry; a timing of an upload this server never received is refused and changes nothing. */
  telemetry(device: Device, telemetry: Telemetry): Refusal | null {
    const wrong = this.ctx.devices.updateTelemetry(device, telemetry);
    if (wrong === 'lastUpload') {
      return refusal('bad-value', `lastUpload.bytes ${telemetry.lastUpload?.bytes} matches no transfer received from this device`, { field: 'lastUpload.bytes' });
    }
    if (wrong === 'lastDownload') {
      return refusal('bad-value', `lastDownload.bytes ${telemetry.lastDownload?.bytes} is not the size of the model this device's last task named (${device.lastModelBytes ?? 'no task yet'})`, { field: 'lastDownload.bytes' });
    }
    this.ctx.notify();
    return null;
  }

  /** The join probe arrived: its size is what the device's next telemetry may time. */
  probe(device: Device, bytes: number): void {
    device.lastReceivedBytes = bytes;
  }

  progress(device: Device, progress: Progress): void {
    device.progress = progress;
    this.ctx.notify();
  }

  /** Checks an update and merges it; a refusal leaves everything as it was. */
  update(device: Device, meta: UpdateMeta, frame: Uint8Array): Ack {
    const { ctx } = this;
    if (ctx.config.mode === 'async') {
      const engine = this.live.asyncRun();
      if (!engine) return refusal('stale-round', `task ${meta.round} is not open: the run has not started`, { round: meta.round });
      return engine.admit(device, meta, frame);
    }
    if (ctx.config.secureAggregation) {
      return refusal('wrong-step', 'this run uses secure aggregation: after training a device sends secagg:advertise and the three steps that follow, never device:update (docs/PROTOCOL.md)', { round: meta.round });
    }
    const open = this.live.openRound();
    if (!open) {
      return refusal('stale-round', `round ${meta.round} is not open: no round is open now (${ctx.run.completed} completed)`, { round: meta.round });
    }
    const admitted = open.admit(device.id, meta, frame);
    if ('ok' in admitted) return admitted;
    acceptUpdate(ctx, admitted, meta, frame.byteLength);
    open.closeIfAllAnswered();
    ctx.notify();
    return { ok: true };
  }

  /**
   * Cluster: an update another node checked and merges into its own partial sum; here the round
   * admits it (open, selected, not yet answered, steps and size) and accounts for it.
   */
  updateElsewhere(device: Device, meta: UpdateMeta, bytes: number): Ack {
    const { ctx } = this;
    const open = this.live.openRound();
    if (!open) return refusal('stale-round', `round ${meta.round} is not open: no round is open now (${ctx.run.completed} completed)`, { round: meta.round });
    const admitted = open.admitElsewhere(device.id, meta, bytes);
    if ('ok' in admitted) return admitted;
    acceptUpdate(ctx, admitted, meta, bytes);
    open.closeIfAllAnswered();
    ctx.notify();
    return { ok: true };
  }

  /** Split learning: one step's activations; resolves with the gradient at the cut, or a refusal that changed nothing. */
  splitForward(device: Device, meta: SplitForward, frame: Uint8Array): Promise<SplitReply> {
    const { split } = this.ctx;
    if (!split) return Promise.resolve({ ack: refusal('not-split', 'this run trains the whole model on each device: there is no split step to take', { round: meta.round }) });
    return split.forward(device.id, meta, frame);
  }

  /** Split learning: the device's last step of the round is done. */
  splitEnd(device: Device, meta: SplitEnd): Promise<Ack> {
    const { split } = this.ctx;
    if (!split) return Promise.resolve(refusal('not-split', 'this run trains the whole model on each device: there is no split step to end', { round: meta.round }));
    return split.end(device.id, meta);
  }

  /** Secure aggregation, step 1 (after training): the device's public keys and its round record. */
  async secureAdvertise(device: Device, message: SecAggAdvertise): Promise<Refusal | null> {
    const steps = this.secureOrRefusal(message.round);
    if ('ok' in steps) return steps;
    const refused = await steps.advertise(device, message);
    if (!refused) {
      device.state = 'uploaded';
      this.live.openRound()?.closeIfAllAnswered();
      this.ctx.notify();
    }
    return refused;
  }

  /** Step 2: the sealed share bundles for the device's neighbors. */
  secureShare(device: Device, message: SecAggShare, data: Uint8Array): Refusal | null {
    const steps = this.secureOrRefusal(message.round);
    return 'ok' in steps ? steps : steps.share(device, message, data);
  }

  /** Step 3: the masked vector. */
  secureMasked(device: Device, round: number, data: Uint8Array): Refusal | null {
    const steps = this.secureOrRefusal(round);
    return 'ok' in steps ? steps : steps.masked(device, round, data);
  }

  /** Step 4: the shares the device reveals. */
  secureReveal(device: Device, message: SecAggReveal): Refusal | null {
    const steps = this.secureOrRefusal(message.round);
    return 'ok' in steps ? steps : steps.reveal(device, message);
  }

  private secureOrRefusal(round: number): SecureSteps | Refusal {
    if (!this.ctx.config.secureAggregation) return refusal('wrong-step', 'this run does not use secure aggregation: send updates with device:update', { round });
    const steps = this.live.secureSteps();
    if (!steps) return refusal('stale-round', `round ${round} is not open: no secure round is open now (${this.ctx.run.completed} completed)`, { round });
    return steps;
  }

  /** A device left (left = said so) or lost its connection: no round waits for it. A connection the device has since left for another changes nothing. */
  gone(device: Device, left: boolean, connectionId?: string): void {
    if (connectionId !== undefined && device.socketId !== connectionId) return;
    this.ctx.log.info({ device: device.id, left }, left ? 'device left' : 'device disconnected');
    // Split learning: its unfinished step is dropped (the server's part keeps only finished steps).
    this.ctx.split?.gone(device.id);
    this.ctx.devices.disconnect(device.id, left);
    this.live.openRound()?.gone(device.id);
    this.live.secureSteps()?.gone(device.id);
    this.live.asyncRun()?.gone(device.id);
    this.changed();
  }

  /** Who is connected changed: the gauge, the loop and the listeners hear it. */
  private changed(): void {
    this.ctx.metrics.setConnected(this.ctx.devices.connectedCount);
    this.ctx.notify();
  }
}
