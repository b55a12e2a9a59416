// What a device can ask of the engine, and nothing more: join, report telemetry and progress,
// upload an update, leave. The transport (transport/socket-io.ts) parses each message with its
// schema and calls one of these; they never see a socket.
import type { Ack, Hello, Progress, Refusal, Telemetry, UpdateMeta } from '@fedbit/core';
import { joinDevice, type Joined } from '../devices/join';
import type { Device } from '../devices/registry';
import { acceptUpdate } from './accounting';
import type { Coordinator } from './coordinator';
import { refusal } from './open-round';
import { sendTask } from './dispatch';

export class DeviceApi {
  constructor(private readonly coordinator: Coordinator) {}

  /** A device joins or rejoins on a connection; a device still expected in the open round gets its task again. */
  join(hello: Hello, connectionId: string): Joined {
    const c = this.coordinator;
    const config = c.config;
    const joined = joinDevice(
      {
        registry: c.devices,
        config,
        host: c.host,
        runId: c.runId,
        mode: config.mode,
        phase: c.phase,
        completed: c.completed,
        maxUpdateBytes: c.maxUpdateBytes,
        takeShard: () => c.run.nextShard++ % config.dataset.shards,
      },
      hello,
      connectionId,
    );
    if (joined.replacedConnection) c.transport.disconnect(joined.replacedConnection);
    c.log.info({ device: joined.device.id, name: hello.name, backend: hello.backend, platform: hello.platform, rejoin: joined.rejoin }, 'device joined');
    const open = c.openRound;
    const slot = open?.rejoined(joined.device);
    if (open && slot) sendTask(c.context, slot, { round: open.round, version: open.round - 1, mode: 'sync', deadlineAt: open.deadlineAt, modelFrame: open.modelFrame });
    c.notify();
    return joined;
  }

  /** New telemetry; a timing of an upload this server never received is refused and changes nothing. */
  telemetry(device: Device, telemetry: Telemetry): Refusal | null {
    if (!this.coordinator.devices.updateTelemetry(device, telemetry)) {
      return refusal('bad-value', `lastUpload.bytes ${telemetry.lastUpload?.bytes} matches no transfer received from this device`, { field: 'lastUpload.bytes' });
    }
    this.coordinator.notify();
    return null;
  }

  /** The join probe arrived: its size is what the device's next telemetry may time. */
  probe(device: Device, bytes: number): void {
    device.lastReceivedBytes = bytes;
  }

  progress(device: Device, progress: Progress): void {
    device.progress = progress;
    this.coordinator.notify();
  }

  /** Checks an update and merges it; a refusal leaves everything as it was. */
  update(device: Device, meta: UpdateMeta, frame: Uint8Array): Ack {
    const c = this.coordinator;
    if (c.config.mode === 'async') {
      const engine = c.asyncRun;
      if (!engine) return refusal('stale-round', `task ${meta.round} is not open: the run has not started`, { round: meta.round });
      return engine.admit(device, meta, frame);
    }
    const open = c.openRound;
    if (!open) {
      return refusal('stale-round', `round ${meta.round} is not open: no round is open now (${c.completed} completed)`, { round: meta.round });
    }
    const admitted = open.admit(device.id, meta, frame);
    if ('ok' in admitted) return admitted;
    acceptUpdate(c.context, admitted, meta, frame.byteLength);
    open.closeIfAllAnswered();
    c.notify();
    return { ok: true };
  }

  /** A device left (left = said so) or lost its connection: no round waits for it. */
  gone(device: Device, left: boolean): void {
    const c = this.coordinator;
    c.log.info({ device: device.id, left }, left ? 'device left' : 'device disconnected');
    c.devices.disconnect(device.id, left);
    c.openRound?.gone(device.id);
    c.asyncRun?.gone(device.id);
    c.notify();
  }
}
