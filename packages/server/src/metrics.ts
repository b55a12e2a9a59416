// Prometheus metrics (GET /metrics). One registry per server so tests can run several in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RoundSummary } from '@fedbit/core';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly roundsCompleted = new Counter({ name: 'fedbit_rounds_completed_total', help: 'Rounds committed', registers: [this.registry] });
  private readonly roundsDropped = new Counter({ name: 'fedbit_rounds_dropped_total', help: 'Rounds dropped for want of quorum', registers: [this.registry] });
  private readonly currentRound = new Gauge({ name: 'fedbit_round', help: 'Round now open (or last opened)', registers: [this.registry] });
  private readonly devicesConnected = new Gauge({ name: 'fedbit_devices_connected', help: 'Devices connected now', registers: [this.registry] });
  private readonly updates = new Counter({ name: 'fedbit_updates_accepted_total', help: 'Updates accepted', labelNames: ['bits'], registers: [this.registry] });
  private readonly refusals = new Counter({ name: 'fedbit_refusals_total', help: 'Messages refused', labelNames: ['code'], registers: [this.registry] });
  private readonly trainingModes = new Counter({ name: 'fedbit_split_device_rounds_total', help: 'Split runs: accepted device-rounds by how the device trained (full or split)', labelNames: ['mode'], registers: [this.registry] });
  private readonly uplinkBytes = new Counter({ name: 'fedbit_uplink_bytes_total', help: 'Update frame bytes received', registers: [this.registry] });
  private readonly energy = new Counter({ name: 'fedbit_modelled_energy_joules_total', help: 'Modelled device energy (not measured)', labelNames: ['kind'], registers: [this.registry] });
  private readonly epsilon = new Gauge({ name: 'fedbit_privacy_epsilon', help: 'Differential privacy: epsilon spent so far at the run\'s delta (set once a round commits with privacy on)', registers: [this.registry] });
  private readonly roundSeconds = new Histogram({
    name: 'fedbit_round_seconds',
    help: 'Wall time of committed rounds',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  /** Planning a round's tasks: every picked device's demand, then the precision policy's solve. */
  private readonly planSeconds = new Histogram({
    name: 'fedbit_plan_seconds',
    help: 'Wall time of planning a round: the devices\' demands and the precision policy',
    buckets: [1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    registers: [this.registry],
  });

  /** The precision policy's solve alone (its share of planSeconds). */
  private readonly solveSeconds = new Histogram({
    name: 'fedbit_policy_solve_seconds',
    help: 'Wall time of the precision policy choosing a round\'s precisions (the solve, without the devices\' demands)',
    buckets: [1e-5, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'fedbit_' });
  }

  roundStarted(round: number): void {
    this.currentRound.set(round);
  }
  roundDropped(): void {
    this.roundsDropped.inc();
  }
  roundCompleted(summary: RoundSummary): void {
    this.roundsCompleted.inc();
    this.roundSeconds.observe(summary.wallS);
    this.energy.inc({ kind: 'compute' }, summary.computeJ);
    this.energy.inc({ kind: 'transmit' }, summary.transmitJ);
    this.energy.inc({ kind: 'receive' }, summary.receiveJ ?? 0);
    for (const d of summary.devices) if (d.status === 'accepted' && d.trainingMode) this.trainingModes.inc({ mode: d.trainingMode });
    if (summary.epsilon !== undefined) this.epsilon.set(summary.epsilon);
  }
  planned(seconds: number, solveSeconds: number): void {
    this.planSeconds.observe(seconds);
    this.solveSeconds.observe(solveSeconds);
  }
  updateAccepted(bytes: number, bits: number): void {
    this.updates.inc({ bits: String(bits) });
    this.uplinkBytes.inc(bytes);
  }
  refused(code: string): void {
    this.refusals.inc({ code });
  }
  setConnected(n: number): void {
    this.devicesConnected.set(n);
  }
}
