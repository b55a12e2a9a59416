import { formatBattery, formatBps, formatJoules, formatLoss } from '../shared/format';
import type { DeviceStatus } from './api';

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

export function DeviceTable({ devices }: { devices: DeviceStatus[] }) {
  const split = devices.some((d) => d.trainingMode);
  return (
    <div className="card table-card">
      <h2>Devices ({devices.length})</h2>
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
