import { describe, expect, it } from 'vitest';
import { isLoopback, normalizeAddress, originAllowed } from './admission';
import { FailureWindow } from './rate-guard';

describe('admission rules', () => {
  it('allows no Origin (not a browser), the same host, or a listed origin; nothing else', () => {
    expect(originAllowed(undefined, 'a:8080', [])).toBe(true);
    expect(originAllowed('http://a:8080', 'a:8080', [])).toBe(true);
    expect(originAllowed('https://a:8080', 'a:8080', [])).toBe(true);
    expect(originAllowed('http://a:8081', 'a:8080', [])).toBe(false);
    expect(originAllowed('http://evil.example', 'a:8080', [])).toBe(false);
    expect(originAllowed('http://evil.example', 'a:8080', ['http://evil.example'])).toBe(true);
    expect(originAllowed('null', 'a:8080', [])).toBe(false);
  });

  it('reads IPv4-mapped addresses and knows loopback', () => {
    expect(normalizeAddress('::ffff:10.0.0.2')).toBe('10.0.0.2');
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.2')).toBe(false);
    expect(isLoopback(normalizeAddress('::ffff:127.0.0.1'))).toBe(true);
  });

  it('blocks a key after `limit` failures until its window ends', () => {
    const window = new FailureWindow(2, 60_000);
    window.fail('a', 0);
    expect(window.blockedFor('a', 1)).toBe(0);
    window.fail('a', 2);
    expect(window.blockedFor('a', 3)).toBe(59_997);
    expect(window.blockedFor('b', 3)).toBe(0);
    expect(window.blockedFor('a', 60_000)).toBe(0);
  });
});
