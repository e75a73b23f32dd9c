import type { Config } from '../config/schema.js';
import type { Logger } from '../platform/log/logger.js';
import type { WebServer } from './web-server.js';

/**
 * Readiness already answers 503 (the caller set shutting down); serving on for
 * SHUTDOWN_DELAY_MS lets load balancers stop routing here before the port closes. Resolves
 * true when every open request finished within SHUTDOWN_GRACE_MS.
 */
export async function stopWebServer(web: WebServer, config: Pick<Config, 'shutdownDelayMs' | 'shutdownGraceMs'>, logger: Logger): Promise<boolean> {
  if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), config.shutdownGraceMs);
  });
  const clean = await Promise.race([web.app.close().then(() => true as const), expired]);
  clearTimeout(timer);
  if (!clean) {
    web.app.server.closeAllConnections();
    logger.warn({ grace_ms: config.shutdownGraceMs }, 'shutdown grace period over; open requests were cut off');
  }
  web.pressure.stop();
  return clean;
}
