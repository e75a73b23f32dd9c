import { describe, expect, it } from 'vitest';
import { apiKeyOf, capturingLogger, contactTestBed, memberOf, recordingQueue } from '../../../test/support/contact-feature.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { HttpProblem } from '../../platform/http/problem.js';
import { createJobQueue } from '../../platform/queue/job-queue.js';
import { openContactContent } from './content-sealing.js';
import { receiveContactMessage } from './submit.js';

const submission = { name: 'Ann Example', email: 'ann@example.com', message: 'Hello,\nplease call me back.' };

describe.each(databaseTargets())('receiving contact messages ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  const rows = () => fresh.handle.db.selectFrom('contact_messages').selectAll().execute();

  it('stores the message encrypted for the caller\'s tenant, with who sent it and the correlation id', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { logger } = capturingLogger();

    const receipt = await receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-1', logger });

    expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'received' });
    const [row] = await rows();
    expect(row).toMatchObject({ id: receipt.id, tenant_id: tenantId, submitter_kind: 'user', submitter_id: '5b0f3f8e-1111-4aaa-8bbb-000000000001', correlation_id: 'corr-1' });
    expect(JSON.stringify(row)).not.toMatch(/Ann|ann@example|call me back/);
    expect(openContactContent(bed.feature.fieldKeys, row!)).toEqual(submission);
    expect(bed.outcomes).toEqual(['stored']);
  });

  it('records an API key as the submitter', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    await receiveContactMessage(bed.feature, apiKeyOf(tenantId), submission, { correlationId: 'corr-2', logger: capturingLogger().logger });
    expect(await rows()).toMatchObject([{ submitter_kind: 'api_key', submitter_id: '5b0f3f8e-2222-4aaa-8bbb-000000000002' }]);
  });

  it('enqueues contact.notify with the id alone, in the transaction that stores the message', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { id } = await receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-3', logger: capturingLogger().logger });

    expect(bed.queue.calls).toHaveLength(1);
    const [call] = bed.queue.calls;
    expect(call).toMatchObject({ type: 'contact.notify', payload: { messageId: id }, options: { correlationId: 'corr-3', idempotencyKey: `contact:${id}` }, messageVisible: true });
    expect(call!.executor.isTransaction).toBe(true);
    expect(JSON.stringify(call!.payload)).toBe(JSON.stringify({ messageId: id }));
  });

  it('writes the contact.notify job to the queue table with the message, holding no plaintext', async () => {
    const bed = await contactTestBed(fresh.handle, createJobQueue());
    const tenantId = await bed.newTenant();
    const { id } = await receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-q', logger: capturingLogger().logger });
    const jobs = await fresh.handle.db.selectFrom('jobs').select(['type', 'payload', 'idempotency_key', 'correlation_id']).execute();
    expect(jobs).toEqual([{ type: 'contact.notify', payload: { messageId: id }, idempotency_key: `contact:${id}`, correlation_id: 'corr-q' }]);
  });

  it('stores nothing when the notification cannot be enqueued', async () => {
    const bed = await contactTestBed(fresh.handle, recordingQueue(new Error('queue unavailable')));
    const tenantId = await bed.newTenant();
    await expect(receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-4', logger: capturingLogger().logger })).rejects.toThrow('queue unavailable');
    expect(bed.queue.calls[0]!.messageVisible).toBe(true);
    expect(await rows()).toEqual([]);
    expect(bed.outcomes).toEqual([]);
  });

  it('answers a filled honeypot like a success, and stores, enqueues and logs nothing of it', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { logger, lines } = capturingLogger();

    const receipt = await receiveContactMessage(bed.feature, memberOf(tenantId), { ...submission, website: 'http://cheap-pills.example' }, { correlationId: 'corr-5', logger });

    expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'received' });
    expect(await rows()).toEqual([]);
    expect(bed.queue.calls).toEqual([]);
    expect(bed.outcomes).toEqual(['honeypot']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('honeypot');
    expect(lines[0]).not.toMatch(/Ann|ann@example|call me back|cheap-pills/);
  });

  it('refuses a name or message of white space only, naming both fields, and stores nothing', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const attempt = receiveContactMessage(bed.feature, memberOf(tenantId), { ...submission, name: '   ', message: ' \n\t ' }, { correlationId: 'corr-6', logger: capturingLogger().logger });
    await expect(attempt).rejects.toSatisfy((error) => error instanceof HttpProblem && error.status === 422
      && JSON.stringify(error.errors) === JSON.stringify([{ field: 'body/name', message: 'must contain more than white space' }, { field: 'body/message', message: 'must contain more than white space' }]));
    expect(await rows()).toEqual([]);
    expect(bed.queue.calls).toEqual([]);
  });

  it('refuses (403) a token naming a tenant this database does not have, storing nothing', async () => {
    const bed = await contactTestBed(fresh.handle);
    const attempt = receiveContactMessage(bed.feature, memberOf('00000000-0000-4000-8000-0000000000ff'), submission, { correlationId: 'corr-7', logger: capturingLogger().logger });
    await expect(attempt).rejects.toSatisfy((error) => error instanceof HttpProblem && error.status === 403 && error.slug === 'unknown-tenant');
    expect(await rows()).toEqual([]);
  });

  it('logs the message id, never the content', async () => {
    const bed = await contactTestBed(fresh.handle);
    const tenantId = await bed.newTenant();
    const { logger, lines } = capturingLogger();
    const { id } = await receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-8', logger });
    expect(lines.join('')).toContain(id);
    expect(lines.join('')).not.toMatch(/Ann|ann@example|call me back/);
  });
});
