import { describe, expect, it } from 'vitest';
import { capturingLogger, contactTestBed, FIELD_KEYS, memberOf } from '../../../test/support/contact-feature.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { listContactMessages, UNREADABLE_CONTENT } from './list.js';
import { receiveContactMessage } from './submit.js';

describe.each(databaseTargets())('listing contact messages ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const quiet = capturingLogger().logger;

  it('pages through a tenant\'s messages newest first, decrypted, until next_cursor is null', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { logger } = capturingLogger();
    for (let i = 1; i <= 5; i++) {
      await receiveContactMessage(bed.feature, memberOf(tenantId), { name: `Sender ${i}`, email: `s${i}@example.com`, message: `message ${i}` }, { correlationId: `corr-${i}`, logger });
    }

    const first = await listContactMessages(bed.feature, tenantId, { limit: 2 }, quiet);
    expect(first.messages.map((m) => m.message)).toEqual(['message 5', 'message 4']);
    expect(first.messages[0]).toEqual({
      id: expect.any(String), name: 'Sender 5', email: 's5@example.com', message: 'message 5', created_at: expect.any(String),
      submitted_by: { kind: 'user', id: '5b0f3f8e-1111-4aaa-8bbb-000000000001' }, correlation_id: 'corr-5',
    });
    const second = await listContactMessages(bed.feature, tenantId, { limit: 2, cursor: first.next_cursor! }, quiet);
    expect(second.messages.map((m) => m.message)).toEqual(['message 3', 'message 2']);
    const last = await listContactMessages(bed.feature, tenantId, { limit: 2, cursor: second.next_cursor! }, quiet);
    expect(last.messages.map((m) => m.message)).toEqual(['message 1']);
    expect(last.next_cursor).toBeNull();
  });

  it('never shows another tenant\'s messages', async () => {
    const bed = await contactTestBed(fresh.handle);
    const ours = await bed.newTenant('ours.example');
    const theirs = await bed.newTenant('theirs.example');
    await receiveContactMessage(bed.feature, memberOf(theirs), { name: 'Them', email: 'them@example.com', message: 'for them' }, { correlationId: 'c', logger: capturingLogger().logger });
    expect(await listContactMessages(bed.feature, ours, { limit: 100 }, quiet)).toEqual({ messages: [], next_cursor: null });
    expect((await listContactMessages(bed.feature, theirs, { limit: 100 }, quiet)).messages).toHaveLength(1);
  });

  it('lists a message whose field key was removed without its content, reports it by id, and still shows the rest', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const send = (message: string) => receiveContactMessage(bed.feature, memberOf(tenantId), { name: 'Ann Sender', email: 'ann.sender@example.com', message }, { correlationId: 'c', logger: quiet });
    await send('sealed under the old key');
    const newKey = `contact-new:${Buffer.alloc(32, 9).toString('base64url')}`;
    bed.feature.fieldKeys.replace(`${newKey},${FIELD_KEYS}`);
    await send('sealed under the new key');
    // The operator drops the old key before every row was re-sealed.
    bed.feature.fieldKeys.replace(newKey);

    const { logger, lines } = capturingLogger();
    const page = await listContactMessages(bed.feature, tenantId, { limit: 10 }, logger);

    expect(page.messages.map((m) => m.message)).toEqual(['sealed under the new key', null]);
    const unreadable = page.messages[1]!;
    expect(unreadable).toMatchObject({ name: null, email: null, message: null, unreadable: UNREADABLE_CONTENT, correlation_id: 'c' });
    expect(page.messages[0]).not.toHaveProperty('unreadable');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, contact_message_id: unreadable.id, reason: expect.stringContaining('contact-test is not in FIELD_ENCRYPTION_KEYS') });
    expect(lines[0]).not.toMatch(/Ann Sender|ann\.sender|sealed under/);
  });

  it('answers an exhausted or unknown cursor with an empty page', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    expect(await listContactMessages(bed.feature, tenantId, { limit: 10, cursor: '1' }, quiet)).toEqual({ messages: [], next_cursor: null });
    expect(await listContactMessages(bed.feature, tenantId, { limit: 10, cursor: '999999999999999999' }, quiet)).toEqual({ messages: [], next_cursor: null });
  });
});
