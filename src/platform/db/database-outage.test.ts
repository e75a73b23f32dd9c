import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { openDatabase, type DatabaseHandle } from './database.js';
import { databaseOutage } from './failure-reason.js';

// A server that speaks just enough of PostgreSQL's protocol to fail the way a real one does.
const message = (type: string, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};
const errorResponse = (code: string, text: string) =>
  message('E', Buffer.concat([Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0`), Buffer.from([0])]));
const authenticationOk = () => message('R', Buffer.from([0, 0, 0, 0]));
const readyForQuery = () => message('Z', Buffer.from('I'));

type Behaviour = (socket: Socket, packet: 'startup' | 'query') => void;

async function fakePostgres(behave: Behaviour): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    let started = false;
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      // The first packet is the startup message; anything after it is a query.
      const packet = started ? 'query' : 'startup';
      started = true;
      if (packet === 'query' && data[0] === 'X'.charCodeAt(0)) return; // Terminate
      behave(socket, packet);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `postgres://app:secret-password-never-shown@127.0.0.1:${port}/app`, server };
}

describe('database failures that are outages (503), by class', () => {
  const opened: DatabaseHandle[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** Runs `select 1` through Rampart's pool against `url`; resolves with what it threw. */
  const failureOf = async (url: string, connectTimeoutMs = 1_000): Promise<unknown> => {
    const database = await openDatabase({ url, dataDir: '/nonexistent', poolMax: 2, idleTimeoutMs: 1_000, connectTimeoutMs });
    opened.push(database);
    return sql`select 1`.execute(database.db).then(
      () => expect.fail('the query succeeded'),
      (error: unknown) => error,
    );
  };
  const against = async (behave: Behaviour) => {
    const { url, server } = await fakePostgres(behave);
    servers.push(server);
    return url;
  };

  it.each([
    ['too many connections (53300)', '53300', 'sorry, too many clients already'],
    ['the server starting up (57P03)', '57P03', 'the database system is starting up'],
    ['the server shutting down (57P01)', '57P01', 'terminating connection due to administrator command'],
    ['a refused password (28P01)', '28P01', 'password authentication failed for user "app"'],
  ])('a connection refused for %s', async (_case, code, text) => {
    const url = await against((socket) => socket.end(errorResponse(code, text)));
    const outage = databaseOutage(await failureOf(url));
    expect(outage).toMatchObject({ slug: 'database-unavailable', dependency: 'database' });
    expect(outage!.reason).not.toContain('secret-password-never-shown');
    expect(outage!.reason).not.toContain('"app"');
  });

  it('a connection refused at the TCP level (ECONNREFUSED)', async () => {
    const url = await against(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(databaseOutage(await failureOf(url))).toEqual({ slug: 'database-unavailable', dependency: 'database', reason: 'ECONNREFUSED' });
  });

  it('a server that accepts and never answers (connect timeout)', async () => {
    const url = await against(() => undefined);
    const outage = databaseOutage(await failureOf(url, 300));
    expect(outage).toMatchObject({ slug: 'database-unavailable', reason: expect.stringMatching(/timeout/i) });
  });

  it.each([
    ['closed', (socket: Socket) => socket.destroy()],
    ['reset (ECONNRESET)', (socket: Socket) => socket.resetAndDestroy()],
  ])('a connection %s in the middle of a query', async (_case, breakIt) => {
    const url = await against((socket, packet) => {
      if (packet === 'startup') socket.write(Buffer.concat([authenticationOk(), readyForQuery()]));
      else breakIt(socket);
    });
    expect(databaseOutage(await failureOf(url))).toMatchObject({ slug: 'database-unavailable' });
  });

  it('a server shutting down while a query runs (57P01 after connecting)', async () => {
    const url = await against((socket, packet) => {
      if (packet === 'startup') socket.write(Buffer.concat([authenticationOk(), readyForQuery()]));
      else socket.end(errorResponse('57P01', 'terminating connection due to administrator command'));
    });
    expect(databaseOutage(await failureOf(url))).toMatchObject({ slug: 'database-unavailable' });
  });

  it('is not an outage: an error of the same socket class from anything but the database', () => {
    expect(databaseOutage(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(databaseOutage(new Error('something else broke'))).toBeUndefined();
  });
});

describe.each(databaseTargets())('database errors that are the query\'s own, on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it.each([
    ['a syntax error', 'select from where'],
    ['a unique violation', 'create temp table t (id int primary key); insert into t values (1), (1)'],
    ['a division by zero', 'select 1 / 0'],
  ])('%s is not an outage', async (_case, text) => {
    const error = await sql.raw(text).execute(fresh.handle.db).then(
      () => expect.fail('the query succeeded'),
      (e: unknown) => e,
    );
    expect(databaseOutage(error)).toBeUndefined();
  });
});
