// Who may open a connection, and what a connection may send before it has joined. Checked at the
// Engine.IO layer, below Socket.IO, so nothing an outsider sends is buffered for long:
//   - Origin: a browser page from another site may not connect (cross-site WebSocket hijacking);
//     clients without an Origin header (Node devices, curl) are not browsers and pass.
//   - Connections per address: at most `perAddress` open at once (loopback exempt by default, where
//     simulations run hundreds of devices; behind a reverse proxy every device shares its address).
//   - Before `device:hello` is accepted a connection may send no binary frame and no text frame over
//     `preJoinBytes`: it is closed at once, and whatever it sent is dropped with it.
//   - Wrong join codes: `failedJoinsPerMinute` per address, then even the right code waits out the
//     minute, so the code cannot be guessed at network speed.
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { FailureWindow } from './rate-guard';

export interface AdmissionLimits {
  /** Open connections allowed per remote address. */
  perAddress: number;
  /** Loopback addresses (127.0.0.0/8, ::1) are not counted: simulations and tests run there. */
  loopbackExempt: boolean;
  /** The largest text frame a connection may send before it has joined. */
  preJoinBytes: number;
  /** Wrong join codes per address per minute before the address is refused for the rest of the minute. */
  failedJoinsPerMinute: number;
  /** Origins (scheme://host[:port]) allowed besides the aggregator's own. */
  allowedOrigins: readonly string[];
}

export const DEFAULT_ADMISSION: AdmissionLimits = Object.freeze({
  perAddress: 32,
  loopbackExempt: true,
  preJoinBytes: 16 * 1024,
  failedJoinsPerMinute: 10,
  allowedOrigins: [],
});

export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

/** Same origin as the request's Host header, or listed. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export class Admission {
  private readonly open = new Map<string, number>();
  private readonly joined = new WeakSet<object>();
  readonly failedJoins: FailureWindow;

  constructor(readonly limits: AdmissionLimits) {
    this.failedJoins = new FailureWindow(limits.failedJoinsPerMinute, 60_000);
  }

  private counted(address: string): boolean {
    return !(this.limits.loopbackExempt && isLoopback(address));
  }

  /** Engine.IO's allowRequest: runs for every new connection's handshake. */
  readonly allowRequest = (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void => {
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, this.limits.allowedOrigins)) {
      return callback(`origin ${String(origin).slice(0, 100)} may not connect: open the join URL itself, or add the origin to the server's allowed origins`, false);
    }
    const address = normalizeAddress(req.socket.remoteAddress);
    if (this.counted(address) && (this.open.get(address) ?? 0) >= this.limits.perAddress) {
      return callback(`too many connections from ${address} (at most ${this.limits.perAddress}); close other tabs of this page`, false);
    }
    callback(null, true);
  };

  /** Counts open connections per address and closes one that sends more than it may before joining. */
  attach(io: Server): void {
    io.engine.on('connection', (conn: EngineConnection) => {
      const address = normalizeAddress(conn.request?.socket?.remoteAddress);
      const counted = this.counted(address);
      if (counted) this.open.set(address, (this.open.get(address) ?? 0) + 1);
      conn.on('close', () => {
        if (!counted) return;
        const left = (this.open.get(address) ?? 1) - 1;
        if (left > 0) this.open.set(address, left);
        else this.open.delete(address);
      });
      conn.on('message', (data: unknown) => {
        if (this.joined.has(conn)) return;
        const tooBig = typeof data === 'string' ? data.length > this.limits.preJoinBytes : true;
        if (tooBig) conn.close();
      });
    });
  }

  /** The connection's device:hello was accepted: from now on it may send updates. */
  markJoined(socket: Socket): void {
    this.joined.add(socket.conn);
  }
}

interface EngineConnection {
  request?: IncomingMessage;
  on(event: 'close', listener: () => void): void;
  on(event: 'message', listener: (data: unknown) => void): void;
  close(): void;
}
