// The embedded database's own thread (a worker_threads entry; see pglite-thread-client.ts).
// PGlite runs PostgreSQL inside WASM on the thread that calls it: opening a cluster holds that
// thread for ~1 s, and every query blocks it while it runs. Here neither touches the thread
// that serves HTTP.
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import { startCompilingPGlite } from './early-pglite.js';
import { openEmbeddedCluster } from './embedded-cluster.js';
import type { ThreadData, ThreadReply, ThreadRequest, WireError } from './pglite-thread-client.js';

const port = parentPort;
if (port === null) throw new Error('pglite-thread runs as a worker thread');
const { dataDir, seedTemplate } = workerData as ThreadData;

// V8 compiles the WASM on background threads while this one loads PGlite's JavaScript.
startCompilingPGlite();

const send = (reply: ThreadReply) => port.postMessage(reply);

try {
  const cluster = await openEmbeddedCluster(dataDir, seedTemplate);
  serve(cluster.pglite, cluster.release);
  send({ type: 'ready', seeded: cluster.seeded });
} catch (error) {
  send({ type: 'failed', error: toWire(error) });
  port.close();
}

function serve(pglite: PGlite, release: () => Promise<void>): void {
  const unlisteners = new Map<string, () => Promise<void>>();
  port!.on('message', (request: ThreadRequest) => {
    answer(request).then(
      (result) => send({ type: 'result', id: request.id, result }),
      (error: unknown) => send({ type: 'error', id: request.id, error: toWire(error) }),
    );
  });

  async function answer(request: ThreadRequest): Promise<unknown> {
    switch (request.op) {
      case 'query':
        return pglite.query(request.sql, request.params);
      case 'exec':
        return pglite.exec(request.sql);
      case 'listen': {
        if (!unlisteners.has(request.channel)) {
          unlisteners.set(request.channel, await pglite.listen(request.channel, (payload) => send({ type: 'notify', channel: request.channel, payload })));
        }
        return undefined;
      }
      case 'unlisten': {
        const unlisten = unlisteners.get(request.channel);
        unlisteners.delete(request.channel);
        await unlisten?.();
        return undefined;
      }
      case 'close': {
        try {
          if (!pglite.closed) await pglite.close();
        } finally {
          await release();
        }
        // The reply goes out first; then nothing holds this thread open and it ends.
        setImmediate(() => port!.close());
        return undefined;
      }
    }
  }
}

/**
 * An error as it crosses to the other thread: structured cloning keeps an Error's message
 * but drops PostgreSQL's fields (`code` 23505 and the like), which callers test.
 */
function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { message: String(error), fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { message: error.message, name: error.name, fields };
}
