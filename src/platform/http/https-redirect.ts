import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { trustedPeer } from './trusted-peer.js';
import { pathOf, PROBE_PATHS } from './probe-paths.js';
import { sendProblem } from './problem.js';

export interface HttpsRedirectOptions {
  trustedProxies: readonly string[];
}

const VALID_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * FORCE_HTTPS behind a TLS-terminating proxy: only a trusted proxy can tell us the client
 * used plain HTTP. The same header from anyone else is ignored (an attacker must not be
 * able to bounce users through redirects of their choosing).
 */
export const httpsRedirect = fp(
  async (app: FastifyInstance, options: HttpsRedirectOptions) => {
    const fromTrustedProxy = trustedPeer(options.trustedProxies);
    app.addHook('onRequest', (request, reply, done) => {
      const forwardedProto = request.headers['x-forwarded-proto'];
      if (forwardedProto === undefined || PROBE_PATHS.has(pathOf(request.url))) return done();
      if (!fromTrustedProxy(request.raw.socket) || request.protocol !== 'http') return done();
      const host = request.host;
      if (!VALID_HOST.test(host)) {
        sendProblem(reply, 400, 'invalid-host', 'The Host header is not a valid host name.');
        return;
      }
      reply.code(request.method === 'GET' || request.method === 'HEAD' ? 301 : 308).header('location', `https://${host}${request.url}`).send();
    });
  },
  { name: 'rampart-https-redirect' },
);
