import { describe, expect, it } from 'vitest';
import { capturingLogger, contactTestBed, memberOf } from '../../../test/support/contact-feature.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { listContactMessages } from './list.js';
import { receiveContactMessage } from './submit.js';

describe.each(databaseTargets())('listing contact messages ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('pages through a tenant\'s messages newest first, decrypted, until next_cursor is null', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { logger } = capturingLogger();
    for (let i = 1; i <= 5; i++) {
      await receiveContactMessage(bed.feature, memberOf(tenantId), { name: `Sender ${i}`, email: `s${i}@example.com`, message: `message ${i}` }, { correlationId: `corr-${i}`, logger });
    }

    const first = await listContactMessages(bed.feature, tenantId, { limit: 2 });
    expect(first.messages.map((m) => m.message)).toEqual(['message 5', 'message 4']);
    expect(first.messages[0]).toEqual({
      id: expect.any(String), name: 'Sender 5', email: 's5@example.com', message: 'message 5', created_at: expect.any(String),
      submitted_by: { kind: 'user', id: '5b0f3f8e-1111-4aaa-8bbb-000000000001' }, correlation_id: 'corr-5',
    });
    const second = await listContactMessages(bed.feature, tenantId, { limit: 2, cursor: first.next_cursor! });
    expect(second.messages.map((m) => m.message)).toEqual(['message 3', 'message 2']);
    const last = await listContactMessages(bed.feature, tenantId, { limit: 2, cursor: second.next_cursor! });
    expect(last.messages.map((m) => m.message)).toEqual(['message 1']);
    expect(last.next_cursor).toBeNull();
  });

  it('never shows another tenant\'s messages', async () => {
    const bed = await contactTestBed(fresh.handle);
    const ours = await bed.newTenant('ours.example');
    const theirs = await bed.newTenant('theirs.example');
    await receiveContactMessage(bed.feature, memberOf(theirs), { name: 'Them', email: 'them@example.com', message: 'for them' }, { correlationId: 'c', logger: capturingLogger().logger });
    expect(await listContactMessages(bed.feature, ours, { limit: 100 })).toEqual({ messages: [], next_cursor: null });
    expect((await listContactMessages(bed.feature, theirs, { limit: 100 })).messages).toHaveLength(1);
  });

  it('answers an exhausted or unknown cursor with an empty page', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    expect(await listContactMessages(bed.feature, tenantId, { limit: 10, cursor: '1' })).toEqual({ messages: [], next_cursor: null });
    expect(await listContactMessages(bed.feature, tenantId, { limit: 10, cursor: '999999999999999999' })).toEqual({ messages: [], next_cursor: null });
  });
});
