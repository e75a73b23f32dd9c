import type { Config } from '../config/schema.js';
import type { Logger } from '../platform/log/logger.js';
import type { WebServer } from './web-server.js';

/**
 * Readiness already answers 503 (the caller set shutting down); serving on for
 * SHUTDOWN_DELAY_MS (5 s in production, 0 in development) lets load balancers stop routing here
 * before the port closes (src/platform/http/graceful-close.ts). Resolves true when every open
 * request finished within SHUTDOWN_GRACE_MS.
 */
export async function stopWebServer(web: WebServer, config: Pick<Config, 'env' | 'shutdownDelayMs' | 'shutdownGraceMs'>, logger: Logger): Promise<boolean> {
  const clean = await web.app.closeGracefully({ delayMs: config.shutdownDelayMs ?? (config.env === 'production' ? 5_000 : 0), graceMs: config.shutdownGraceMs });
  if (!clean) logger.warn({ grace_ms: config.shutdownGraceMs }, 'shutdown grace period over; open requests were cut off');
  web.pressure.stop();
  return clean;
}
