// Shared by every peer so that they all serve byte-identical bodies and
// differ only in the stack around the route.
export const BODY = { hello: 'world', items: [1, 2, 3] };

export function port() {
  const p = Number(process.env.PORT);
  if (!Number.isInteger(p) || p <= 0) throw new Error('PORT env must be set to a free port');
  return p;
}

// The harness stops peers with SIGTERM; without a handler Node would exit
// anyway, but closing first lets in-flight logger output flush.
export function closeOnSignal(close) {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.once(sig, () => {
      Promise.resolve(close()).finally(() => process.exit(0));
    });
  }
}

/** Starts an Express app on PORT and resolves with its server once it listens. */
export async function listenExpress(app) {
  const server = app.listen(port(), '127.0.0.1');
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}

/** ioredis options for BullMQ from a `redis://` URL (the harness's queue and the worker processes share them). */
export function bullmqConnection(url) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1) || 0),
  };
}
