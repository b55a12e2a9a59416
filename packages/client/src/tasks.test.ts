import { describe, expect, it } from 'vitest';
import type { Task } from '@fedbit/core';
import { TaskQueue } from './tasks';

const task = (round: number, mode?: 'async'): Task => ({
  round,
  bits: 4,
  trainBits: 8,
  localSteps: 2,
  batchSize: 4,
  learningRate: 1e-3,
  deadlineMs: 1000,
  seed: round,
  errorFeedback: true,
  blockSize: 512,
  model: { version: round - 1, sha256: '0'.repeat(64), bytes: 4 },
  ...(mode ? { mode } : {}),
});

async function started(q: TaskQueue) {
  const item = (await q.next())!;
  expect(q.begin(item)).toBe(true);
  return item;
}

/** A queue whose task `t` is training. */
async function trainingOn(t: Task) {
  const q = new TaskQueue();
  q.offer(t);
  await started(q);
  return q;
}

describe('TaskQueue', () => {
  it('hands out a task, which is not stale while it trains alone', async () => {
    const q = new TaskQueue();
    q.offer(task(1));
    const item = await started(q);
    expect(item.task.round).toBe(1);
    expect(q.training?.round).toBe(1);
    expect(q.isStale(1)).toBe(false);
    q.finish();
    expect(q.training).toBeNull();
  });

  it('next() waits until a task is offered', async () => {
    const q = new TaskQueue();
    let got: number | null = null;
    const waiting = q.next().then((item) => (got = item?.task.round ?? null));
    await Promise.resolve();
    expect(got).toBeNull();
    q.offer(task(3));
    await waiting;
    expect(got).toBe(3);
  });

  // Newest arrival wins, whatever its round: the server only sends a task it wants done now (the
  // same round again is a retry after a dropped round, at a new precision).
  it.each<[string, Task]>([
    ['a newer round', task(2)],
    ['a retry of the same round', { ...task(1), bits: 8 }],
    ['an older round', task(0)],
  ])('%s arriving while training makes the running task stale, then starts', async (_, arriving) => {
    const q = await trainingOn(task(1));
    expect(q.isStale(1)).toBe(false);
    q.offer(arriving);
    expect(q.isStale(1)).toBe(true);
    expect(q.waiting?.task).toBe(arriving);
    q.finish();
    const next = await started(q);
    expect(next.task).toBe(arriving);
    expect(q.isStale(arriving.round)).toBe(false);
  });

  it('of two waiting tasks the later arrival wins, even with a lower number', async () => {
    const q = new TaskQueue();
    q.offer(task(5));
    q.offer(task(4));
    expect((await q.next())?.task.round).toBe(4);
  });

  it('a task superseded while the device got ready does not start', async () => {
    const q = new TaskQueue();
    q.offer(task(1));
    const first = (await q.next())!;
    q.offer(task(2));
    expect(q.begin(first)).toBe(false);
    expect(q.training).toBeNull();
  });

  it('cancel drops a waiting task and makes a training one stale; a cancel for another round changes nothing', async () => {
    const q = new TaskQueue();
    q.offer(task(1));
    q.cancel(2);
    expect(q.waiting?.task.round).toBe(1);
    q.cancel(1);
    expect(q.waiting).toBeNull();
    q.offer(task(2));
    await started(q);
    q.cancel(7);
    expect(q.isStale(2)).toBe(false);
    q.cancel(2);
    expect(q.isStale(2)).toBe(true);
  });

  it('a committed round makes synchronous tasks for it or earlier stale, later ones not', async () => {
    const q = await trainingOn(task(3));
    q.offer(task(4));
    q.committed(3);
    expect(q.isStale(3)).toBe(true);
    expect(q.waiting?.task.round).toBe(4);
    q.committed(4);
    expect(q.waiting).toBeNull();
  });

  it('a committed round past the waiting task drops it too (the device missed that round)', async () => {
    const q = new TaskQueue();
    q.offer(task(4));
    q.committed(6);
    expect(q.waiting).toBeNull();
    q.offer(task(7));
    q.committed(6);
    expect(q.waiting?.task.round).toBe(7);
  });

  it('a committed version leaves async tasks alone', async () => {
    const q = await trainingOn(task(9, 'async'));
    q.committed(20);
    expect(q.isStale(9)).toBe(false);
  });

  it('stop ends the wait, makes the training task stale and refuses new ones', async () => {
    const q = await trainingOn(task(1));
    const waiting = q.next();
    q.stop();
    expect(await waiting).toBeNull();
    expect(q.isStale(1)).toBe(true);
    q.offer(task(2));
    expect(q.waiting).toBeNull();
    expect(await q.next()).toBeNull();
  });
});
