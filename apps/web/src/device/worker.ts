// The training worker: tfjs, the model and the socket live here so the page never stalls.
// navigator.getBattery does not exist in a worker, so the page posts battery and the person's
// choice; this worker's TelemetrySource hands back the latest values it was given.
import { DeviceRuntime, connectionHint, drawnData, guessDeviceClass, httpData, photoData, type NavigatorLike, type TelemetrySource } from '@fedbit/client';
import type { FromWorker, PageTelemetry, ToWorker } from './messages';

// The root tsconfig has the DOM lib, which conflicts with the WebWorker lib; type the two members used.
const scope = self as unknown as {
  postMessage(message: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

let latest: PageTelemetry = { battery: null, charging: null, preference: 'balanced' };
let runtime: DeviceRuntime | null = null;

const post = (message: FromWorker) => scope.postMessage(message);

/** Battery and the person's choice can change at any time on a phone in hand: report them twice as often as the runtime's default. */
const PAGE_TELEMETRY_INTERVAL_MS = 5_000;

function pageTelemetry(userAgent: string): TelemetrySource {
  return {
    async read() {
      return {
        battery: latest.battery,
        charging: latest.charging,
        preference: latest.preference,
        deviceClass: guessDeviceClass(userAgent),
        connectionHint: connectionHint(navigator as NavigatorLike),
      };
    },
  };
}

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  if (runtime) return;
  latest = message.telemetry;
  const { url, joinCode, name, deviceId, resumeToken, userAgent, backend, drawings, photos } = message.options;
  const device = new DeviceRuntime({
    url,
    joinCode,
    name,
    deviceId,
    resumeToken,
    userAgent,
    // A backend the person fixed (?backend= in the URL); otherwise the fastest one measured at join.
    backend,
    platform: 'browser',
    telemetry: pageTelemetry(userAgent),
    // The person's drawings or photos when they chose them (all of them, never sent); else this device's shard of the dataset.
    data: drawings && drawings.length > 0 ? drawnData(drawings) : photos && photos.length > 0 ? photoData(photos) : httpData(url),
    wasmPath: new URL('/tfjs-wasm/', url).href,
    telemetryIntervalMs: PAGE_TELEMETRY_INTERVAL_MS,
  });
  runtime = device;
  const forward = (async () => {
    for await (const event of device.events) post({ type: 'event', event, totals: { ...device.totals } });
  })();
  try {
    await device.start();
  } catch (error) {
    // start() failed before its loop began, so the event stream would never close: end here.
    post({ type: 'fatal', message: (error as Error).message });
    device.stop();
    post({ type: 'stopped' });
    return;
  }
  await forward;
  await device.done();
  post({ type: 'stopped' });
}

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case 'start':
      void start(message);
      break;
    case 'telemetry':
      latest = { ...latest, ...message.telemetry };
      break;
    case 'leave':
      if (runtime) void runtime.leave();
      else post({ type: 'stopped' });
      break;
    default: {
      const never: never = message;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
};
