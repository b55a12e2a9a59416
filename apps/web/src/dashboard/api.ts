// The aggregator's HTTP API as the dashboard uses it. Admin calls carry the Bearer token.
import type { RoundSummary } from '@fedbit/core';
import type { DevicePage, RunStatus } from '@fedbit/core';

export type { DevicePage, RoundSummary, RunStatus };
export type DeviceStatus = RunStatus['devices'][number];

export type PolicySpec = { kind: 'fixed'; bits: number } | { kind: 'on-demand' } | { kind: 'adaquantfl' } | { kind: 'dadaquant' };

export interface ConfigPatch {
  rounds?: number;
  devicesPerRound?: number;
  localSteps?: number;
  quorum?: number;
  deadlineS?: number;
  policy?: PolicySpec;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status} from ${path}`);
  return body;
}

export const api = {
  status: () => call<RunStatus>('/api/status'),
  rounds: () => call<{ run: string; rounds: RoundSummary[] }>('/api/rounds'),
  /** Every device, a page at a time, in the order they joined (the status lists at most a page of them). */
  devices: (token: string, offset: number, limit: number) => call<DevicePage>(`/api/devices?offset=${offset}&limit=${limit}`, { token }),
  join: (token: string) => call<{ joinUrl: string }>('/api/join', { token }),
  control: (token: string, action: 'start' | 'pause' | 'stop') => call<{ ok: true; phase: string }>('/api/control', { token, method: 'POST', body: JSON.stringify({ action }) }),
  patchConfig: (token: string, patch: ConfigPatch) => call<{ ok: true }>('/api/config', { token, method: 'PATCH', body: JSON.stringify(patch) }),
};
