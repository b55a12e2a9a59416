// Policy names as people type them (--policy, experiment tables) and the specs they stand for.
import type { PolicySpec } from '@fedbit/core';

export const POLICY_NAMES = ['fedavg-32', 'fixed-16', 'fixed-8', 'fixed-4', 'fixed-2', 'adaquantfl', 'dadaquant', 'on-demand'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function policyFromName(name: PolicyName): PolicySpec {
  switch (name) {
    case 'fedavg-32':
      return { kind: 'fixed', bits: 32 } as PolicySpec;
    case 'fixed-16':
      return { kind: 'fixed', bits: 16 } as PolicySpec;
    case 'fixed-8':
      return { kind: 'fixed', bits: 8 } as PolicySpec;
    case 'fixed-4':
      return { kind: 'fixed', bits: 4 } as PolicySpec;
    case 'fixed-2':
      return { kind: 'fixed', bits: 2 } as PolicySpec;
    case 'adaquantfl':
      return { kind: 'adaquantfl' } as PolicySpec;
    case 'dadaquant':
      return { kind: 'dadaquant' } as PolicySpec;
    case 'on-demand':
      return { kind: 'on-demand' } as PolicySpec;
    default: {
      const never: never = name;
      throw new Error(`unknown policy ${String(never)}`);
    }
  }
}
