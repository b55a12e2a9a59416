// The experiment presets: the fleet, rounds and training every policy of `npm run experiment` meets.
import type { RunConfigInput } from '@fedbit/server';
import type { PolicyName } from './policies';

export interface Preset {
  devices: number;
  rounds: number;
  seed: number;
  config: RunConfigInput;
  policies: PolicyName[];
  about: string;
}

const POLICIES: PolicyName[] = ['fedavg-32', 'fixed-16', 'fixed-8', 'fixed-4', 'adaquantfl', 'dadaquant', 'on-demand'];

export const PRESETS: Record<'smoke' | 'paper', Preset> = {
  smoke: {
    devices: 4,
    rounds: 3,
    seed: 1,
    policies: POLICIES,
    about: 'tiny model, 16x16 MNIST, 4 devices, 3 rounds: checks the pipeline end to end in a few minutes',
    config: {
      localSteps: 4,
      batchSize: 8,
      quorum: 2,
      deadlineS: 120,
      reproducible: true,
      dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
      model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
      eval: { every: 0, samples: 64, steps: 10 },
    },
  },
  paper: {
    devices: 10,
    rounds: 25,
    seed: 1,
    policies: POLICIES,
    about: 'tiny model (75,589 parameters), 16x16 MNIST split IID over 10 heterogeneous devices (phones, laptops, desktops), 25 rounds of 20 local steps of batch 8',
    config: {
      localSteps: 20,
      batchSize: 8,
      learningRate: 2e-3,
      quorum: 5,
      deadlineS: 600,
      reproducible: true,
      dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
      model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
      eval: { every: 0, samples: 256, steps: 10 },
    },
  },
};
