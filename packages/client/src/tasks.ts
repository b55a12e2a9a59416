// The device's tasks as a small state machine: newest task wins. One object owns what used to be
// six fields written in five places: the task waiting to start, the one training, and whether the
// one training is still wanted. The training loop polls isStale(round) between steps.
//
//   offer(t)     t waits to start and the one training is stale: the newest arrival wins,
//                whatever its number (the server only sends a task when it wants that one done;
//                the same round again is a retry after a dropped round, with a new precision)
//   cancel(r)    the task for round r is off, training or waiting
//   committed(r) the server committed round r: a synchronous task for round r or earlier is
//                stale (an async task is not: it may still merge into a later version)
//   next()       waits for a task; begin(t) starts it unless it was superseded meanwhile
//   finish()     the training task is done (uploaded, refused or abandoned)
//   stop()       nothing more starts; whatever trains is stale
import type { Task } from '@fedbit/core';

export interface PendingTask {
  task: Task;
  receivedAt: number;
}

export class TaskQueue {
  private pending: PendingTask | null = null;
  private current: Task | null = null;
  private staleRound: number | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;

  get training(): Task | null {
    return this.current;
  }
  get waiting(): PendingTask | null {
    return this.pending;
  }
  get isStopped(): boolean {
    return this.stopped;
  }

  offer(task: Task, receivedAt = Date.now()): void {
    if (this.stopped) return;
    if (this.current) this.staleRound = this.current.round;
    this.pending = { task, receivedAt };
    this.wake?.();
  }

  cancel(round: number): void {
    if (this.current?.round === round) this.staleRound = round;
    if (this.pending?.task.round === round) this.pending = null;
  }

  committed(round: number): void {
    if (this.current && this.current.mode !== 'async' && this.current.round <= round) this.staleRound = this.current.round;
    if (this.pending && this.pending.task.mode !== 'async' && this.pending.task.round <= round) this.pending = null;
  }

  /** Resolves with the waiting task (left waiting until begin), or null once stopped. */
  async next(): Promise<PendingTask | null> {
    while (!this.stopped && !this.pending) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return this.stopped ? null : this.pending;
  }

  /** Starts `item` if it is still the waiting task; false if it was superseded or cancelled meanwhile. */
  begin(item: PendingTask): boolean {
    if (this.stopped || this.pending !== item) return false;
    this.pending = null;
    this.current = item.task;
    this.staleRound = null;
    return true;
  }

  /** True once the task for `round` is no longer wanted: stopped, cancelled, committed without it, or a newer task waits. */
  isStale(round: number): boolean {
    return this.stopped || this.staleRound === round || this.pending !== null;
  }

  finish(): void {
    this.current = null;
  }

  stop(): void {
    this.stopped = true;
    if (this.current) this.staleRound = this.current.round;
    this.pending = null;
    this.wake?.();
  }
}
