// The experiment presets: the fleet, rounds and training every policy of `npm run experiment` meets.
import type { RunConfigInput } from '@fedbit/server';
import type { PolicyName } from './policies';

export interface Preset {
  devices: number;
  rounds: number;
  /** The seeds every policy runs with; figures are means over them. */
  seeds: number[];
  config: RunConfigInput;
  policies: PolicyName[];
  about: string;
}

/**
 * The training the robustness, privacy and stress studies run (the paper preset before it grew on
 * 2026-11-22: 20 local steps of batch 8 at a constant 2e-3, samples from the latest model). Kept
 * as it was so their published tables stay reproducible.
 */
export const STUDY_CONFIG: RunConfigInput = {
  localSteps: 20,
  batchSize: 8,
  learningRate: 2e-3,
  emaDecay: 0,
  quorum: 5,
  deadlineS: 600,
  reproducible: true,
  dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
  model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
  eval: { every: 0, samples: 256, steps: 10 },
};

const POLICIES: PolicyName[] = ['fedavg-32', 'fixed-16', 'fixed-8', 'fixed-4', 'adaquantfl', 'dadaquant', 'on-demand'];

/** The published comparison: every policy over three seeds, long enough for FedAvg-32 to reach FID-MNIST about 15. */
const PAPER: Preset = {
  devices: 10,
  rounds: 60,
  seeds: [1, 2, 3],
  policies: POLICIES,
  about:
    'tiny model (75,589 parameters), 16x16 MNIST split IID over 10 heterogeneous devices (phones, laptops, desktops), 60 rounds of 3 devices x 80 local steps of batch 8 (4,800 sequential steps, what FedAvg-32 needs for FID-MNIST about 15); learning rate 2e-3 with a cosine decay over the rounds, samples and FID (1,000 samples, 50 DDIM steps) from the EMA of the global models (the recipe of docs/RESULTS.md)',
  config: {
    devicesPerRound: 3,
    localSteps: 80,
    batchSize: 8,
    learningRate: 2e-3,
    learningRateSchedule: { kind: 'cosine', warmupRounds: 1, floor: 0.1 },
    emaDecay: 0.9,
    quorum: 2,
    deadlineS: 600,
    reproducible: true,
    dataset: { name: 'mnist', imageSize: 16, partition: 'iid' },
    model: { size: 'tiny', schedule: { kind: 'cosine', steps: 200 } },
    eval: { every: 0, samples: 1000, steps: 50 },
  },
};

export const PRESETS: Record<'smoke' | 'paper' | 'paper-short', Preset> = {
  smoke: {
    devices: 4,
    rounds: 3,
    seeds: [1],
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
  paper: PAPER,
  'paper-short': {
    ...PAPER,
    rounds: 30,
    about:
      'the paper preset until 2026-12-05 (the three-seed table of 2026-11-23): tiny model (75,589 parameters), 16x16 MNIST split IID over 10 heterogeneous devices (phones, laptops, desktops), 30 rounds of 5 devices x 40 local steps of batch 8; learning rate 2e-3 with a cosine decay over the rounds, samples and FID from the EMA of the global models (the recipe of docs/RESULTS.md)',
    config: { ...PAPER.config, devicesPerRound: 5, localSteps: 40, quorum: 3, eval: { every: 0, samples: 1000, steps: 20 } },
  },
};
