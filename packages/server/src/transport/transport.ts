// How the round engine reaches devices. The engine never sees a socket: it calls these, and the
// Socket.IO adapter (socket-io.ts) implements them; a Redis-backed cluster would implement them too.
import type { RoundSummary, Task } from '@fedbit/core';
import type { Device } from '../devices/registry';

export interface Transport {
  /** Sends a task; it names the model version, which the device fetches over HTTP. */
  sendTask(device: Device, task: Task): void;
  /** Tells a device its task is off (the round closed, the run stopped). */
  cancel(device: Device, round: number, reason: string): void;
  /** A committed round: the whole summary to watchers, and to each joined device its own part (deviceSummary). */
  broadcastSummary(summary: RoundSummary, devices: readonly Device[]): void;
  /** Secure aggregation: a step's message to one device (secagg:roster, secagg:shares with the sealed bundles, secagg:unmask). */
  secagg(device: Device, event: 'roster' | 'shares' | 'unmask', payload: object, data?: Uint8Array): void;
  /** Closes a connection (a device that joined again on another one). */
  disconnect(connectionId: string): void;
}
