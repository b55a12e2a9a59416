import { describe, expect, it } from 'vitest';
import type { RuntimeEvent } from '@fedbit/client';
import type { DeviceTotals } from '@fedbit/core';
import { initialState, reduce, type DeviceState } from './state';

const totals: DeviceTotals = { energyJ: 0, computeJ: 0, transmitJ: 0, receiveJ: 0, uplinkBytes: 0, uplinkBytesFp32: 0, rounds: 0 };
const fold = (events: RuntimeEvent[], from: DeviceState = initialState) => events.reduce((s, event) => reduce(s, { type: 'event', event, totals }), from);

describe('the device page state', () => {
  it('shows training while steps arrive, even after a late "idle" (a task that began during the join probe)', () => {
    const state = fold([
      { type: 'status', state: 'training' },
      { type: 'step', round: 1, step: 1, steps: 10, loss: 0.9 },
      // the join sequence's own "idle", sent after the probe while the task already trains
      { type: 'status', state: 'idle' },
      { type: 'step', round: 1, step: 2, steps: 10, loss: 0.8 },
    ]);
    expect(state.phase).toBe('training');
    expect(state.step).toBe(2);
  });

  it('waits for the others after an upload, and for the next round after idle', () => {
    const uploaded = fold([{ type: 'status', state: 'training' }, { type: 'status', state: 'uploading' }, { type: 'status', state: 'idle' }]);
    expect(uploaded.phase).toBe('waiting-for-others');
    expect(fold([{ type: 'status', state: 'idle' }]).phase).toBe('waiting');
  });
});
