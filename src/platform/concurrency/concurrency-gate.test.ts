import { describe, expect, it } from 'vitest';
import { concurrencyGate } from './concurrency-gate.js';

describe('the concurrency gate', () => {
  it('runs at most the limit at once, the rest in arrival order, and survives failures', async () => {
    const gate = concurrencyGate(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (id: number, fail = false) => gate(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (fail) throw new Error(`task ${id} failed`);
      return id;
    });
    const results = await Promise.allSettled([task(1), task(2, true), task(3), task(4), task(5)]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Every slot came back: the gate is free again.
    expect(await Promise.all([task(6), task(7)])).toEqual([6, 7]);
    expect(running).toBe(0);
  });

  it('refuses a limit that is not a whole number ≥ 1', () => {
    expect(() => concurrencyGate(0)).toThrow(/≥ 1/);
    expect(() => concurrencyGate(1.5)).toThrow(/≥ 1/);
  });

  it('lets a waiting task whose signal aborts leave the line, and refuses one already aborted', async () => {
    const gate = concurrencyGate(1);
    let finishFirst!: () => void;
    const first = gate(() => new Promise<string>((resolve) => (finishFirst = () => resolve('first'))));
    const controller = new AbortController();
    const ran: string[] = [];
    const waiting = gate(async () => void ran.push('aborted one'), controller.signal);
    const third = gate(async () => 'third');
    controller.abort(new Error('job timed out'));
    await expect(waiting).rejects.toThrow('job timed out');
    finishFirst();
    expect(await first).toBe('first');
    // The slot went to the next in line, not to the task that left.
    expect(await third).toBe('third');
    expect(ran).toEqual([]);
    await expect(gate(async () => 'never', AbortSignal.abort())).rejects.toThrow();
  });
});
