// The aggregator's orchestration constants, each named once with why.

/** The wait loop re-checks the room at least this often while nothing wakes it (a device joining, the admin acting). */
export const IDLE_POLL_MS = 1000;
/** After a dropped round, a short pause so a room without quorum does not spin. */
export const AFTER_DROP_PAUSE_MS = 500;
/** Status pushes to the dashboard and the devices are coalesced over this window: progress events arrive many times a second. */
export const STATUS_DEBOUNCE_MS = 200;
/**
 * A committed round's summary goes to each device (its own part) in slices of this many, one turn of
 * the event loop each: at 10,000 devices the ten thousand writes held the loop for about a second
 * at every commit (docs/SCALE.md, section 5). A room of up to this many hears it in one turn, as before.
 */
export const SUMMARY_SLICE = 256;
/**
 * The brief goes to every connected device, one write per connection: at ten thousand devices each
 * broadcast cost the aggregator about 150 ms, five a second while a round ran (docs/SCALE.md,
 * section 5). So the window grows with the room, 0.1 ms per connected device: 200 ms up to 2,000
 * devices, a second at 10,000; and a brief that says what the last one said is not sent again.
 */
export function briefIntervalMs(connected: number): number {
  return Math.max(STATUS_DEBOUNCE_MS, Math.round(connected * 0.1));
}
/** Per-connection token bucket: 20 events a second on average covers telemetry, progress and uploads with room to spare;
 * a burst of 60 absorbs a reconnect; 200 refusals in a row means a flood, and the connection is closed. */
export const DEFAULT_RATE_LIMIT = Object.freeze({ perSecond: 20, burst: 60, disconnectAfterStrikes: 200 });
/** Socket.IO's buffer allows one full-precision update frame plus this much for the metadata. */
export const MESSAGE_HEADROOM_BYTES = 64 * 1024;
/** Socket.IO heartbeats: a tab whose phone went to sleep is noticed within about half a minute. */
export const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 20_000;
/** Model versions kept servable over HTTP: a synchronous round trains from one version (keep the one
 * before it too, for a device that got its task just before a commit); an async task from up to
 * maxStaleness versions back, bounded so memory stays a few frames however stale a run allows. */
export const MODEL_VERSIONS_KEPT_SYNC = 2;
export const MODEL_VERSIONS_KEPT_MAX = 10;
/** Versions per minute on the dashboard are counted over this window. */
export const RATE_WINDOW_MS = 5 * 60_000;
