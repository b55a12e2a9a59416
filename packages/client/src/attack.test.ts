import { describe, expect, it } from 'vitest';
import { applyAttack } from './attack';
import { DeviceProfilesSchema, generateProfiles } from './profiles';

describe('simulated attacks', () => {
  it('sign-flip uploads -factor x the update, scale factor x', () => {
    expect(Array.from(applyAttack(Float32Array.of(1, -2), { kind: 'sign-flip', factor: 4 }))).toEqual([-4, 8]);
    expect(Array.from(applyAttack(Float32Array.of(1, -2), { kind: 'scale', factor: 10 }))).toEqual([10, -20]);
  });

  it('a profile may carry an attack; a malformed one is refused with the field named', () => {
    const [profile] = generateProfiles(1, 1);
    expect(DeviceProfilesSchema.safeParse([{ ...profile, attack: { kind: 'scale', factor: 10 } }]).success).toBe(true);
    const bad = DeviceProfilesSchema.safeParse([{ ...profile, attack: { kind: 'backdoor', factor: 10 } }]);
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path.join('.')).toBe('0.attack.kind');
  });
});
