// A refusal and the code for a refused frame: shared by the update path (open-round.ts) and the
// split steps (../split/split-server.ts).
import { FrameError, type Refusal, type RefusalCode } from '@fedbit/core';

export function refusal(code: RefusalCode, reason: string, extra: Partial<Refusal> = {}): Refusal {
  return { ok: false, code, reason, ...extra };
}

export function frameErrorCode(error: FrameError): RefusalCode {
  switch (error.field) {
    case 'checksum':
      return 'bad-checksum';
    case 'length':
      return 'wrong-length';
    case 'scale':
    case 'value':
      return 'bad-value';
    default:
      return 'malformed-frame';
  }
}
