import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, PASSWORD, postJson, signUp, uniqueEmail, withDatabase, rampartOnFreshDatabase, type RampartSuite } from '../support/auth-client.js';
import { createPGliteTarget, databaseTargets } from '../support/databases.js';
import { send, startRampart, type HttpResponse } from '../support/rampart-process.js';

const INBOX = 'contact-inbox@example.org';
const WITH_WORKER = ['serve', '--with-worker'];

interface Receipt { id: string; status: string }
interface Listed { id: string; name: string | null; email: string | null; message: string | null; created_at: string; submitted_by: { kind: string; id: string }; correlation_id: string | null; unreadable?: string }
interface Page { messages: Listed[]; next_cursor: string | null }
interface Mail { to: string; subject: string; text: string }

const expectProblem = (res: HttpResponse, status: number, slug: string) => {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ type: `/problems/${slug}` });
};

/** A tenant's admin (signed in), a member (signed in) and API keys minted by the admin. */
async function tenantOn(suite: RampartSuite, label: string) {
  const adminEmail = uniqueEmail(`${label}-admin`);
  await signUp(suite.rampart, adminEmail);
  const admin = (await logIn(suite.rampart, adminEmail)).access_token;
  const memberEmail = uniqueEmail(`${label}-member`);
  const added = await postJson(suite.rampart, '/v1/admin/users', { email: memberEmail, password: PASSWORD, role: 'member' }, bearer(admin));
  expect(added.status, added.body).toBe(201);
  const member = (await logIn(suite.rampart, memberEmail)).access_token;
  const mint = async (scopes: string[]) => {
    const res = await postJson(suite.rampart, '/v1/api-keys', { name: `contact ${scopes.join(' ')}`, scopes }, bearer(admin));
    expect(res.status, res.body).toBe(201);
    return res.json<{ id: string; key: string }>();
  };
  return { admin, member, writer: await mint(['contact:write']), reader: await mint(['contact:read']) };
}

let sequence = 0;
/** A submission whose every field carries a marker no other test uses, to look for it in the database and logs. */
function uniqueSubmission(label: string) {
  const marker = `${label}${process.pid}x${sequence++}`;
  return { name: `Sender ${marker}`, email: `${marker}@example.com`, message: `Message body ${marker}\nsecond line` };
}

describe.each(databaseTargets())('contact messages on $name', (factory) => {
  describe.skipIf(!factory.available)('submit, list, notify', () => {
    const suite = rampartOnFreshDatabase(factory, { CONTACT_INBOX: INBOX }, WITH_WORKER);
    const markers: string[] = [];

    const submit = (body: unknown, headers: Record<string, string>) => postJson(suite.rampart, '/v1/contact', body, headers);
    const list = (headers: Record<string, string>, query = '') => suite.rampart.request(`/v1/contact${query}`, { headers });
    const asKey = (key: { key: string }) => ({ 'x-api-key': key.key });
    async function submitted(label: string, headers: Record<string, string>) {
      const body = uniqueSubmission(label);
      markers.push(body.name, body.email, body.message.split('\n')[0]!);
      const res = await submit(body, headers);
      expect(res.status, res.body).toBe(202);
      return { body, receipt: res.json<Receipt>() };
    }
    async function allListed(headers: Record<string, string>): Promise<Listed[]> {
      const res = await list(headers, '?limit=100');
      expect(res.status, res.body).toBe(200);
      return res.json<Page>().messages;
    }
    async function outbox(): Promise<Mail[]> {
      const directory = join(suite.target.dataDir, 'outbox');
      const names = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
      return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(directory, name), 'utf8')) as Mail));
    }
    /** The worker sends it after the 202, so it is polled for. */
    async function mailAbout(messageId: string): Promise<Mail> {
      for (let waited = 0; waited < 20_000; waited += 100) {
        const mail = (await outbox()).find((m) => m.subject === `Contact message ${messageId}`);
        if (mail) return mail;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no mail about contact message ${messageId}`);
    }

    it('accepts a message from an API key with contact:write: 202 {id, status: received}', async () => {
      const { writer } = await tenantOn(suite, 'key');
      const { receipt } = await submitted('key', asKey(writer));
      expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'received' });
    });

    it('accepts a message from a member\'s Bearer token', async () => {
      const { member } = await tenantOn(suite, 'member');
      await submitted('member', bearer(member));
    });

    it('refuses a key without contact:write (403) and a request without credentials (401)', async () => {
      const { reader } = await tenantOn(suite, 'refused');
      const body = uniqueSubmission('refused');
      expectProblem(await submit(body, asKey(reader)), 403, 'insufficient-scope');
      expectProblem(await submit(body, {}), 401, 'invalid-token');
      expectProblem(await submit(body, { 'x-api-key': 'rk_test_not-a-key' }), 401, 'invalid-api-key');
    });

    it('refuses invalid fields with a problem listing each of them, and stores nothing', async () => {
      const { admin, writer } = await tenantOn(suite, 'invalid');
      const res = await submit({ name: 'x'.repeat(201), email: 'not-an-address', message: '', colour: 'blue' }, asKey(writer));
      expectProblem(res, 422, 'validation-failed');
      const fields = res.json<{ errors: Array<{ field: string }> }>().errors.map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['body', 'body/name', 'body/email', 'body/message']));
      expectProblem(await submit({ name: 'Ann', email: 'ann@example.com' }, asKey(writer)), 422, 'validation-failed');
      expectProblem(await submit({ name: 'Ann', email: 'ann@example.com', message: 'x'.repeat(10_001) }, asKey(writer)), 422, 'validation-failed');
      expectProblem(await submit({ name: 'Ann\u0007', email: 'ann@example.com', message: 'hi' }, asKey(writer)), 422, 'validation-failed');
      expectProblem(await submit({ name: '  ', email: 'ann@example.com', message: '  ' }, asKey(writer)), 422, 'validation-failed');
      expectProblem(await suite.rampart.request('/v1/contact', { method: 'POST', headers: { 'content-type': 'application/json', ...asKey(writer) }, body: '{"name":' }), 400, 'malformed-json');
      expect(await allListed(bearer(admin))).toEqual([]);
    });

    it('answers a filled honeypot with 202, then stores and mails nothing and logs no content', async () => {
      const { admin, writer } = await tenantOn(suite, 'honeypot');
      const body = { ...uniqueSubmission('honeypot'), website: 'http://cheap-pills.example' };
      const res = await submit(body, asKey(writer));
      expect(res.status, res.body).toBe(202);
      const receipt = res.json<Receipt>();
      expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'received' });
      expect(await allListed(bearer(admin))).toEqual([]);

      // A real message after it: once its mail is out, the worker has had its chance at the first.
      const real = await submitted('after-honeypot', asKey(writer));
      await mailAbout(real.receipt.id);
      expect((await outbox()).filter((m) => m.subject.includes(receipt.id))).toEqual([]);

      const line = await suite.rampart.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('honeypot'));
      expect(line.level).toBe('info');
      expect(JSON.stringify(line)).not.toContain(body.email);
      const metrics = (await send(suite.rampart.metricsUrl)).body;
      expect(metrics).toMatch(/^contact_submissions_total\{outcome="honeypot"\} [1-9]/m);
    });

    it('lists the tenant\'s messages to its admin, decrypted, newest first, a page at a time', async () => {
      const { admin, writer } = await tenantOn(suite, 'listing');
      const sent = [];
      for (let i = 0; i < 3; i++) sent.push(await submitted('listing', asKey(writer)));

      const first = await list(bearer(admin), '?limit=2');
      expect(first.status, first.body).toBe(200);
      expect(first.headers['cache-control']).toBe('no-store');
      const page1 = first.json<Page>();
      expect(page1.messages.map((m) => m.id)).toEqual([sent[2]!.receipt.id, sent[1]!.receipt.id]);
      expect(page1.messages[0]).toEqual({
        id: sent[2]!.receipt.id, ...sent[2]!.body, created_at: expect.any(String),
        submitted_by: { kind: 'api_key', id: writer.id }, correlation_id: expect.any(String),
      });
      const page2 = (await list(bearer(admin), `?limit=2&cursor=${page1.next_cursor}`)).json<Page>();
      expect(page2).toEqual({ messages: [expect.objectContaining({ id: sent[0]!.receipt.id, message: sent[0]!.body.message })], next_cursor: null });
    });

    it('lets an API key with contact:read list, and refuses members, writers, anonymous callers and bad paging', async () => {
      const { member, writer, reader, admin } = await tenantOn(suite, 'access');
      await submitted('access', asKey(writer));
      expect((await allListed(asKey(reader)))).toHaveLength(1);
      expectProblem(await list(bearer(member)), 403, 'insufficient-permission');
      expectProblem(await list(asKey(writer)), 403, 'insufficient-scope');
      expectProblem(await list({}), 401, 'invalid-token');
      for (const query of ['?limit=101', '?limit=0', '?limit=ten', '?cursor=abc', '?cursor=-1', '?page=2']) {
        expectProblem(await list(bearer(admin), query), 400, 'validation-failed');
      }
    });

    it('never shows a tenant\'s messages to another tenant\'s admin', async () => {
      const ours = await tenantOn(suite, 'ours');
      const theirs = await tenantOn(suite, 'theirs');
      const { receipt } = await submitted('ours', asKey(ours.writer));
      expect((await allListed(bearer(ours.admin))).map((m) => m.id)).toEqual([receipt.id]);
      expect((await allListed(bearer(theirs.admin))).map((m) => m.id)).not.toContain(receipt.id);
      expect((await allListed(asKey(theirs.reader))).map((m) => m.id)).not.toContain(receipt.id);
    });

    it('mails each message to CONTACT_INBOX through the worker, carrying the request\'s correlation id into the job\'s logs', async () => {
      const { writer } = await tenantOn(suite, 'mail');
      const body = uniqueSubmission('mail');
      markers.push(body.name, body.email);
      const res = await submit(body, { ...asKey(writer), 'x-correlation-id': 'contact-e2e-mail-1' });
      expect(res.status, res.body).toBe(202);
      const { id } = res.json<Receipt>();

      const mail = await mailAbout(id);
      expect(mail.to).toBe(INBOX);
      expect(mail.text).toContain(`From: ${body.name} <${body.email}>`);
      expect(mail.text).toContain(body.message);
      const mailed = await suite.rampart.waitForLog((l) => l.msg === 'contact message mailed to the inbox' && l.contact_message_id === id);
      expect(mailed.correlation_id).toBe('contact-e2e-mail-1');
    });

    it('keeps only ciphertext in the database and no message content in the logs', async () => {
      await suite.rampart.stop();
      expect(markers.length).toBeGreaterThan(10);
      const stdout = suite.rampart.stdout();
      for (const marker of markers) expect(stdout).not.toContain(marker);
      await withDatabase(suite.target, async (db) => {
        const rows = await db.selectFrom('contact_messages').selectAll().execute();
        expect(rows.length).toBeGreaterThanOrEqual(8);
        for (const row of rows) {
          for (const column of ['name_encrypted', 'email_encrypted', 'message_encrypted'] as const) expect(row[column]).toMatch(/^fe1\./);
        }
        // Every table, every column, as text: no marker anywhere (jobs' payloads included).
        const { rows: dump } = await sql<{ text: string }>`select string_agg(t::text, ' ') as text from contact_messages t`.execute(db);
        for (const marker of markers) expect(dump[0]!.text).not.toContain(marker);
        const { rows: tables } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
        for (const { name } of tables) {
          const { rows: all } = await sql<{ text: string | null }>`select string_agg(t::text, ' ') as text from ${sql.table(name)} t`.execute(db);
          for (const marker of markers) expect(all[0]!.text ?? '', `${name} holds a plaintext marker`).not.toContain(marker);
        }
      });
    });
  });
});

describe.each(databaseTargets())('contact messages that no longer decrypt, on $name', (factory) => {
  describe.skipIf(!factory.available)('listing', () => {
    const suite = rampartOnFreshDatabase(factory);

    it('lists such a message with null content and `unreadable`, logs its id only, and still shows the rest', async () => {
      const { admin, writer } = await tenantOn(suite, 'unreadable');
      const send = async () => {
        const body = uniqueSubmission('unreadable');
        const res = await postJson(suite.rampart, '/v1/contact', body, { 'x-api-key': writer.key });
        expect(res.status, res.body).toBe(202);
        return { body, id: res.json<Receipt>().id };
      };
      const intact = await send();
      const broken = await send();
      // PGlite admits one process: the row is changed while Rampart is stopped.
      await suite.rampart.stop();
      await withDatabase(suite.target, async (db) => {
        // A ciphertext copied from another row is bound to that row: it does not open here.
        const source = await db.selectFrom('contact_messages').select('message_encrypted').where('id', '=', intact.id).executeTakeFirstOrThrow();
        await db.updateTable('contact_messages').set({ message_encrypted: source.message_encrypted }).where('id', '=', broken.id).execute();
      });
      suite.rampart = await startRampart({ env: authEnv(suite.target) });

      const res = await suite.rampart.request('/v1/contact', { headers: bearer(admin) });
      expect(res.status, res.body).toBe(200);
      const { messages } = res.json<Page>();
      expect(messages.find((m) => m.id === intact.id)).toMatchObject(intact.body);
      expect(messages.find((m) => m.id === intact.id)).not.toHaveProperty('unreadable');
      expect(messages.find((m) => m.id === broken.id)).toMatchObject({ name: null, email: null, message: null, unreadable: expect.stringContaining('FIELD_ENCRYPTION_KEYS') });
      const logged = await suite.rampart.waitForLog((l) => l.msg === 'contact message does not decrypt; listed without its content');
      expect(logged).toMatchObject({ level: 'error', contact_message_id: broken.id, correlation_id: res.headers['x-correlation-id'] });
      for (const value of Object.values(broken.body)) expect(suite.rampart.stdout()).not.toContain(value.split('\n')[0]);
    });
  });
});

describe('contact submissions per client IP', () => {
  it('limits a client IP to its contact budget (10 a minute by default): the 11th gets 429 with Retry-After', async () => {
    const target = await createPGliteTarget();
    const rampart = await startRampart({ env: authEnv(target, { RATE_LIMIT_ENABLED: 'true' }) });
    try {
      const email = uniqueEmail('contact-limit');
      await signUp(rampart, email);
      const token = (await logIn(rampart, email)).access_token;
      const minted = await postJson(rampart, '/v1/api-keys', { name: 'limit', scopes: ['contact:write'] }, bearer(token));
      expect(minted.status, minted.body).toBe(201);
      const key = minted.json<{ key: string }>().key;

      // Another loopback address than the sign-in's, so only the submissions count.
      const fromOneClient = (i: number) => rampart.request('/v1/contact', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ name: 'Ann', email: 'ann@example.com', message: `attempt ${i}` }),
        localAddress: '127.0.0.23',
      });
      for (let i = 1; i <= 10; i++) expect((await fromOneClient(i)).status).toBe(202);
      const refused = await fromOneClient(11);
      expectProblem(refused, 429, 'rate-limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await rampart.stop();
      await target.cleanup();
    }
  });
});
