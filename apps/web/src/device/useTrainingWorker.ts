// Owns the training worker for the device page: starts it on join, forwards battery and the
// person's choice, folds its events into state, and leaves when asked or when the tab goes away.
import { useCallback, useEffect, useReducer, useRef } from 'react';
import type { Preference } from '@fedbit/core/vocabulary';
import type { BatteryReading } from './battery';
import { rememberDevice } from './identity';
import type { FromWorker, JoinOptions, ToWorker } from './messages';
import { initialState, reduce, type DeviceState } from './state';

export interface TrainingWorker {
  state: DeviceState;
  join(options: JoinOptions): void;
  leave(): void;
}

// ?debug in the URL logs every worker message to the console (for field reports and tests).
const debug = new URLSearchParams(location.search).has('debug');

export function useTrainingWorker(preference: Preference, battery: BatteryReading | null): TrainingWorker {
  const [state, dispatch] = useReducer(reduce, initialState);
  const worker = useRef<Worker | null>(null);
  const latest = useRef({ preference, battery });
  latest.current = { preference, battery };

  const send = useCallback((message: ToWorker) => worker.current?.postMessage(message), []);

  const join = useCallback((options: JoinOptions) => {
    if (worker.current) return;
    const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'fedbit-training' });
    worker.current = w;
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const message = e.data;
      if (debug) console.info(`[fedbit ${new Date().toISOString().slice(11, 23)}]`, JSON.stringify(message).slice(0, 300));
      if (message.type === 'event' && message.event.type === 'joined') rememberDevice(message.event.deviceId, message.event.resumeToken);
      dispatch(message);
      if (message.type === 'stopped') {
        w.terminate();
        if (worker.current === w) worker.current = null;
      }
    };
    w.onerror = (e) => dispatch({ type: 'fatal', message: `the training worker failed: ${e.message || 'see the browser console'}` });
    dispatch({ type: 'starting' });
    const { battery: reading, preference: choice } = latest.current;
    w.postMessage({
      type: 'start',
      options,
      telemetry: { battery: reading?.battery ?? null, charging: reading?.charging ?? null, preference: choice },
    } satisfies ToWorker);
  }, []);

  const leave = useCallback(() => send({ type: 'leave' }), [send]);

  // The person's choice and the battery reach the worker as they change.
  useEffect(() => send({ type: 'telemetry', telemetry: { preference } }), [preference, send]);
  useEffect(() => {
    if (battery) send({ type: 'telemetry', telemetry: battery });
  }, [battery, send]);

  // Closing or navigating away: tell the aggregator at once where the socket still has time to.
  useEffect(() => {
    const onHide = () => send({ type: 'leave' });
    window.addEventListener('pagehide', onHide);
    window.addEventListener('beforeunload', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      window.removeEventListener('beforeunload', onHide);
    };
  }, [send]);

  return { state, join, leave };
}
