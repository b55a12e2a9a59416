// Who can join what `npm start` serves: the classroom default, and every flag that changes it.
import { describe, expect, it } from 'vitest';
import { chooseReach } from './reach';

const none = { local: false, https: false };
const pem = { cert: 'CERT', key: 'KEY' };

describe('chooseReach', () => {
  it('serves the network over self-signed https when this computer has a network address', () => {
    expect(chooseReach(none, '192.168.1.20')).toMatchObject({ tls: 'self-signed', bind: '0.0.0.0' });
    expect(chooseReach(none, '192.168.1.20').note).toMatch(/npm start -- --local/);
  });
  it('falls back to this computer, and says why, when there is no network address', () => {
    const reach = chooseReach(none, null);
    expect(reach).toMatchObject({ tls: undefined, bind: '127.0.0.1' });
    expect(reach.note).toMatch(/no network address/);
  });
  it('--local is plain http on loopback, and refuses the flags that contradict it', () => {
    expect(chooseReach({ ...none, local: true }, '192.168.1.20')).toMatchObject({ tls: undefined, bind: '127.0.0.1' });
    expect(() => chooseReach({ local: true, https: true, bind: '0.0.0.0' }, null)).toThrow(/cannot go with --https, --bind/);
    expect(() => chooseReach({ ...none, local: true, certificate: pem }, null)).toThrow(/--cert\/--key/);
  });
  it('keeps what the flags ask: a given certificate, --https, or a plain --bind', () => {
    expect(chooseReach({ ...none, certificate: pem }, null)).toMatchObject({ tls: pem, bind: '0.0.0.0' });
    expect(chooseReach({ ...none, https: true, bind: '127.0.0.1' }, '10.0.0.2')).toMatchObject({ tls: 'self-signed', bind: '127.0.0.1' });
    const plain = chooseReach({ ...none, bind: '0.0.0.0' }, '10.0.0.2');
    expect(plain).toMatchObject({ tls: undefined, bind: '0.0.0.0' });
    expect(plain.note).toMatch(/neither WebGPU nor the battery level/);
  });
});
