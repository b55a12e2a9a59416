// Messages between the device page and its training worker. The page owns what only a window can
// read (battery, the person's choice); the worker owns tfjs and the socket.
import type { RuntimeEvent } from '@fedbit/client';
import type { Backend, DeviceTotals, Preference } from '@fedbit/core';
import type { Drawing } from '@fedbit/datasets/drawn';
import type { Photo } from '@fedbit/datasets/photos';

export interface PageTelemetry {
  battery: number | null;
  charging: boolean | null;
  preference: Preference;
}

export interface JoinOptions {
  url: string;
  joinCode: string;
  name: string;
  deviceId?: string;
  resumeToken?: string;
  userAgent: string;
  /** Train on this backend instead of the fastest one measured at join. */
  backend?: Backend;
  /** The person's own drawings: trained on instead of the organiser's dataset (they stay in the tab). */
  drawings?: Drawing[];
  /** The person's own photos (32x32 copies): trained on instead of the organiser's dataset (they stay in the tab). */
  photos?: Photo[];
}

export type ToWorker =
  | { type: 'start'; options: JoinOptions; telemetry: PageTelemetry }
  | { type: 'telemetry'; telemetry: Partial<PageTelemetry> }
  | { type: 'leave' };

export type FromWorker =
  | { type: 'event'; event: RuntimeEvent; totals: DeviceTotals }
  | { type: 'fatal'; message: string }
  | { type: 'stopped' };
