import { useState } from 'react';
import { formatBattery, formatBps, formatJoules, formatLoss } from '../shared/format';
import { api, type DeviceStatus, type RunStatus } from './api';

const PAGE = 200;

const BACKENDS: Record<string, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

function progressOf(d: DeviceStatus): string {
  if (!d.progress || d.state !== 'training') return '';
  return ` ${d.progress.step}/${d.progress.steps}`;
}

/** Split runs: how the device trains (the policy's choice where the run allows both), and the share of its front it keeps. */
function modeOf(d: DeviceStatus): string {
  if (!d.trainingMode) return '–';
  const { mode, keepRatio } = d.trainingMode;
  return mode === 'split' && keepRatio < 1 ? `split, keeps ${Math.round(keepRatio * 100)}%` : mode;
}

/**
 * The devices: every one in a small room; in a large one the status lists a page (those at work,
 * then the latest to join) and says so, and "Browse all" pages through every device with the admin
 * token (GET /api/devices).
 */
export function DeviceTable({ status, token }: { status: RunStatus | null; token: string }) {
  const [browse, setBrowse] = useState<{ offset: number; devices: DeviceStatus[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const counts = status?.deviceCounts;
  const partial = counts !== undefined && counts.listed < counts.total;
  const open = (offset: number) =>
    api.devices(token, offset, PAGE).then(
      (page) => {
        setBrowse({ offset: page.offset, devices: page.devices, total: page.total });
        setError(null);
      },
      (e: Error) => setError(`cannot read /api/devices: ${e.message}`),
    );
  const devices = browse?.devices ?? status?.devices ?? [];
  const split = devices.some((d) => d.trainingMode);
  const byState = counts ? Object.entries(counts.byState).filter(([, n]) => n > 0).map(([state, n]) => `${n.toLocaleString()} ${state}`).join(', ') : '';
  return (
    <div className="card table-card">
      <h2>Devices ({counts ? counts.total.toLocaleString() : devices.length})</h2>
      {browse ? (
        <p className="muted" data-testid="device-browse">
          Devices {(browse.offset + 1).toLocaleString()}–{(browse.offset + browse.devices.length).toLocaleString()} of {browse.total.toLocaleString()}, in the order they joined (not live).{' '}
          <button type="button" disabled={browse.offset === 0} onClick={() => void open(Math.max(0, browse.offset - PAGE))}>Previous</button>{' '}
          <button type="button" disabled={browse.offset + PAGE >= browse.total} onClick={() => void open(browse.offset + PAGE)}>Next</button>{' '}
          <button type="button" onClick={() => setBrowse(null)}>Back to live</button>
        </p>
      ) : (
        partial && (
          <p className="muted" data-testid="device-partial">
            Showing {counts.listed.toLocaleString()} of {counts.total.toLocaleString()} devices ({counts.connected.toLocaleString()} connected; {byState}): those at work, then the latest to join.{' '}
            <button type="button" onClick={() => void open(0)}>Browse all</button>
          </p>
        )
      )}
      {error && <p className="error">{error}</p>}
      {devices.length === 0 ? (
        <p className="muted">No device yet: scan the QR code to join.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="device-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Backend</th>
                <th>Battery</th>
                <th>Charging</th>
                <th>Uplink</th>
                <th>Bits</th>
                {split && <th title="Split runs: whole model on the device, or its front with the aggregator">Trains</th>}
                <th>Energy (modelled J)</th>
                <th>Loss</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id} data-testid="device-row" data-device-id={d.id} data-state={d.state} data-bits={d.bits ?? ''} data-backend={d.backend}>
                  <td title={`${d.id} · ${d.platform} · ${d.deviceClass} · ${d.preference}`}>{d.name}</td>
                  <td title={d.adapter ?? undefined}>{BACKENDS[d.backend] ?? d.backend}</td>
                  <td>{formatBattery(d.battery, false)}</td>
                  <td>{d.charging === null ? '–' : d.charging ? 'yes' : 'no'}</td>
                  <td>{formatBps(d.uplinkBps)}</td>
                  <td>{d.bits ?? '–'}</td>
                  {split && <td data-testid="training-mode">{modeOf(d)}</td>}
                  <td>{formatJoules(d.energyJ)}</td>
                  <td>{formatLoss(d.lastLoss)}</td>
                  <td className={`state state-${d.state}`}>
                    {d.state}
                    {progressOf(d)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
