import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { migrateUp } from '../../platform/db/migrations.js';
import { runExclusively } from './backup-lease.js';

const held = () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { release, work: () => released };
};

describe.each(databaseTargets())('backup lease on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('a tick of another operation waits for the running one and then runs; a tick of the same operation is dropped', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const signal = new AbortController().signal;
    const backup = held();
    const order: string[] = [];
    const running = runExclusively('backup', async () => {
      order.push('backup started');
      await backup.work();
      order.push('backup ended');
    }, { db, signal });
    await expect.poll(() => order).toEqual(['backup started']);

    expect(await runExclusively('backup', async () => void order.push('second backup'), { db, signal })).toEqual({ ran: false, reason: 'same-operation-running' });
    const waitedFor: string[] = [];
    const drill = runExclusively('drill', async () => void order.push('drill'), { db, signal, pollMs: 20, onWait: (running) => waitedFor.push(running) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual(['backup started']);

    backup.release();
    expect(await running).toEqual({ ran: true });
    expect(await drill).toEqual({ ran: true });
    expect(order).toEqual(['backup started', 'backup ended', 'drill']);
    expect(waitedFor).toEqual(['backup']);
  });

  it('a wait ends when its job is aborted, and a failed run releases the lease', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const backup = held();
    const running = runExclusively('backup', backup.work, { db, signal: new AbortController().signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abort = new AbortController();
    const prune = runExclusively('prune', async () => {}, { db, signal: abort.signal, pollMs: 20 });
    abort.abort();
    expect(await prune).toEqual({ ran: false, reason: 'aborted' });
    backup.release();
    await running;

    await expect(runExclusively('drill', () => Promise.reject(new Error('scratch database full')), { db, signal: new AbortController().signal })).rejects.toThrow('scratch database full');
    expect(await runExclusively('backup', async () => {}, { db, signal: new AbortController().signal })).toEqual({ ran: true });
  });
});
