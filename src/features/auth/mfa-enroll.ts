import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { savePendingTotp } from './mfa-store.js';
import { createTotpSecret, otpauthUri, qrSvg } from './primitives/totp.js';
import { bearerAuth } from './schemas.js';
import { sealTotpSecret } from './second-factor.js';
import { findUser, writeAuditEvent, type RequestContext } from './store.js';

const Enrolment = Type.Object({
  secret: Type.String({ description: 'Base32 TOTP secret, for typing into an app that cannot scan.' }),
  otpauth_uri: Type.String({ description: 'otpauth://totp/… URI (what the QR code encodes).' }),
  qr_svg: Type.String({ description: 'The URI as an SVG QR code.' }),
});

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

/** A new pending secret; MFA stays off until `activate` proves the app has it. */
export async function enrollTotp(identity: Identity, principal: Principal, context: RequestContext): Promise<TotpEnrolment> {
  const user = await findUser(identity.db, identity.emails, principal.userId);
  if (!user) throw new HttpProblem(401, 'invalid-token', 'The access token is invalid, expired or revoked; refresh it or sign in again.');
  const secret = createTotpSecret();
  const saved = await savePendingTotp(identity.db, user.id, sealTotpSecret(secret, user.id, identity.totpKey));
  if (!saved) throw new HttpProblem(409, 'mfa-already-active', 'Two-factor authentication is already on; disable it first to enrol a new authenticator.');
  await writeAuditEvent(identity.db, context, { action: 'auth.mfa.enrolled', tenantId: user.tenant_id, actorId: user.id });
  const uri = otpauthUri({ secret, account: user.email, issuer: identity.tokens.issuer });
  return { secret, otpauth_uri: uri, qr_svg: await qrSvg(uri) };
}

/** Registered inside the authenticated scope. */
export async function mfaEnrollRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/mfa/totp/enroll', {
    schema: {
      summary: 'Start TOTP enrolment: a secret and its QR code for an authenticator app. Pending until activated; enrolling again replaces a pending secret.',
      tags: ['auth'],
      security: bearerAuth,
      response: { 200: Enrolment },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return enrollTotp(identity, principalOf(request), contextOf(request));
  });
}
