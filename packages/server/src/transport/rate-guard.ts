// What stands between a connection and the engine before any payload is read: a constant-time
// secret comparison (join code, admin token) and a token bucket per connection against floods.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a secret (join code or admin token) with what a client sent. */
export function secretEquals(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** Token bucket: `rate` events per second on average, bursts up to `capacity`. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  strikes = 0;
  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.strikes++;
    return false;
  }
}

/** Failures per key (an address) in a fixed window: `blocked` once `limit` failures fell in the current window. */
export class FailureWindow {
  private readonly counts = new Map<string, { since: number; failures: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  private entry(key: string, now: number) {
    const entry = this.counts.get(key);
    if (entry && now - entry.since < this.windowMs) return entry;
    // Old windows are dropped as they are met, and all of them when the map grows large.
    if (this.counts.size > 10_000) for (const [k, e] of this.counts) if (now - e.since >= this.windowMs) this.counts.delete(k);
    const fresh = { since: now, failures: 0 };
    this.counts.set(key, fresh);
    return fresh;
  }

  /** Milliseconds until `key` may try again, or 0 when it may now. */
  blockedFor(key: string, now = Date.now()): number {
    const entry = this.entry(key, now);
    return entry.failures >= this.limit ? entry.since + this.windowMs - now : 0;
  }

  fail(key: string, now = Date.now()): void {
    this.entry(key, now).failures++;
  }
}
