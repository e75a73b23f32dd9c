import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLastUsedBatcher } from './last-used-batcher.js';

describe('last-used batcher', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  function recording(write: (ids: string[], at: Date) => Promise<void> = async () => undefined) {
    const writes: Array<{ ids: string[]; at: Date }> = [];
    const errors: unknown[] = [];
    const batcher = createLastUsedBatcher({
      intervalMs: 5_000,
      write: async (ids, at) => { writes.push({ ids: [...ids].sort(), at }); await write(ids, at); },
      onError: (error) => errors.push(error),
    });
    return { batcher, writes, errors };
  }

  it('writes nothing per use: many uses of several keys become one write per interval', async () => {
    const { batcher, writes } = recording();
    for (let i = 0; i < 100; i++) batcher.touch(i % 2 === 0 ? 'key-a' : 'key-b', new Date(1_000 + i));
    expect(writes).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(writes).toEqual([{ ids: ['key-a', 'key-b'], at: new Date(1_099) }]);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(writes).toHaveLength(1);
    await batcher.close();
  });

  it('writes what is pending when closed, and stops its timer', async () => {
    const { batcher, writes } = recording();
    batcher.touch('key-a', new Date(2_000));
    await batcher.close();
    expect(writes).toEqual([{ ids: ['key-a'], at: new Date(2_000) }]);
    batcher.touch('key-b');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(writes).toHaveLength(1);
  });

  it('keeps a batch whose write failed and retries it with the next one', async () => {
    let fail = true;
    const { batcher, writes, errors } = recording(async () => {
      if (fail) { fail = false; throw new Error('database down'); }
    });
    batcher.touch('key-a', new Date(3_000));
    await batcher.flush();
    expect(errors).toHaveLength(1);
    batcher.touch('key-b', new Date(4_000));
    await batcher.flush();
    expect(writes.at(-1)).toEqual({ ids: ['key-a', 'key-b'], at: new Date(4_000) });
    await batcher.close();
  });
});
