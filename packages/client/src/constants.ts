// The device's orchestration constants, each named once with why. Sizes and timeouts both sides
// agree on live in packages/core/src/protocol/limits.ts.

/** Battery and the person's choice can change at any time; the aggregator hears them this often. */
export const TELEMETRY_INTERVAL_MS = 10_000;
/** Reconnection backoff: quick at first (a blip on Wi-Fi), capped so a server restart is found within seconds. */
export const RECONNECT_DELAY_MS = 500;
export const RECONNECT_DELAY_MAX_MS = 5_000;
/** Spread reconnections so a restarted server is not hit by a whole room in the same millisecond. */
export const RECONNECT_RANDOMIZATION = 0.5;
/** Step progress goes to the dashboard at most this often (the page gets every step locally). */
export const PROGRESS_THROTTLE_MS = 500;
/** A transfer timed below this is a clock artefact (a rate near infinity): its time is floored here. */
export const MIN_TRANSFER_MS = 0.1;
/** The join probe's small size is the large one over this: far enough apart that the slope between them is the time on air. */
export const PROBE_SIZE_RATIO = 16;
/** Each probe size is timed this often and the fastest kept: a late acknowledgement is jitter, never a faster link. */
export const PROBE_REPEATS = 2;
/** Leaving waits this long for the aggregator's acknowledgement before the socket closes anyway. */
export const LEAVE_ACK_TIMEOUT_MS = 2_000;
/** Backend trial at join: one warm-up step (shader compilation, kernel caches), then this many timed steps. */
export const BACKEND_TRIAL_STEPS = 2;
/** Batch the backend trial times when the welcome does not name the run's (an older aggregator): the server's default. */
export const BACKEND_TRIAL_BATCH_SIZE = 8;
/** A backend whose warm-up step already takes this many times the best step so far is not timed further. */
export const BACKEND_TRIAL_GIVE_UP_FACTOR = 20;
/** A LoRA run's base is fetched once at join (a few MB at most at 16 bits): this long before the join fails with the reason. */
export const BASE_FETCH_TIMEOUT_MS = 120_000;
/** Joins refused 'unavailable' (a cluster between leaders) are tried again this many times in all, waiting 1x, 2x, ... this long between. */
export const JOIN_ATTEMPTS = 8;
export const JOIN_RETRY_MS = 1_000;
