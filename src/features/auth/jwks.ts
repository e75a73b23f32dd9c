import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Keyring } from './signing-keys.js';

const Jwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
});

/** Public keys that verify Rampart's access tokens: the current one and the previous one. */
export async function jwksRoute(app: FastifyInstance, keyring: Keyring): Promise<void> {
  app.get('/.well-known/jwks.json', {
    schema: { summary: 'JSON Web Key Set for verifying access tokens.', tags: ['auth'], response: { 200: Type.Object({ keys: Type.Array(Jwk) }) } },
  }, async (_request, reply) => {
    // Short: a rotation must reach verifiers well within the previous key's overlap.
    reply.header('cache-control', 'public, max-age=300');
    return keyring.jwks();
  });
}
