import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { HttpProblem, type FieldError } from '../../platform/http/problem.js';
import { bearerOrApiKey, callerOf, requirePermission, type Caller } from '../auth/index.js';
import type { ContactFeature } from './contact-feature.js';
import { honeypotFilled } from './honeypot.js';
import { CONTACT_NOTIFY, type ContactNotifyPayload } from './jobs.js';
import { sealContactContent } from './content-sealing.js';
import { ContactReceiptSchema, ContactSubmissionSchema } from './schemas.js';
import { insertContactMessage, type Submitter } from './store.js';

export type ContactSubmission = Static<typeof ContactSubmissionSchema>;
export type ContactReceipt = Static<typeof ContactReceiptSchema>;

export interface SubmissionContext {
  correlationId: string;
  /** The request's logger; it is never handed the submission's content. */
  logger: { info(fields: object, message: string): void };
}

const FOREIGN_KEY_VIOLATION = '23503';

function blankFields(submission: ContactSubmission): FieldError[] {
  return (['name', 'message'] as const)
    .filter((field) => submission[field].trim() === '')
    .map((field) => ({ field: `body/${field}`, message: 'must contain more than white space' }));
}

const submitterOf = (caller: Caller): Submitter => (caller.kind === 'user' ? { kind: 'user', id: caller.userId } : { kind: 'api_key', id: caller.keyId });

/**
 * Stores the message encrypted and, in the same transaction, enqueues the inbox notification
 * (its payload is the id alone): the job exists if and only if the message does. A filled
 * honeypot gets the same receipt and leaves no trace but a counter and a content-free log line.
 */
export async function receiveContactMessage(feature: ContactFeature, caller: Caller, submission: ContactSubmission, context: SubmissionContext): Promise<ContactReceipt> {
  const blank = blankFields(submission);
  if (blank.length > 0) throw new HttpProblem(422, 'validation-failed', 'One or more fields are invalid; see errors.', blank);
  const id = randomUUID();
  if (honeypotFilled(submission)) {
    feature.countSubmission('honeypot');
    context.logger.info({ tenant_id: caller.tenantId }, 'contact submission dropped: the honeypot field was filled');
    return { id, status: 'received' };
  }
  const sealed = sealContactContent(feature.fieldKeys, id, submission);
  const payload: ContactNotifyPayload = { messageId: id };
  try {
    await feature.db.transaction().execute(async (trx) => {
      await insertContactMessage(trx, { id, tenantId: caller.tenantId, sealed, submitter: submitterOf(caller), correlationId: context.correlationId });
      await feature.queue.enqueue(trx, CONTACT_NOTIFY, payload, { correlationId: context.correlationId, idempotencyKey: `contact:${id}` });
    });
  } catch (error) {
    // Only an external provider's token can name a tenant that has no row here.
    if ((error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) throw new HttpProblem(403, 'unknown-tenant', 'Your token names a tenant this Rampart does not have.');
    throw error;
  }
  feature.countSubmission('stored');
  context.logger.info({ contact_message_id: id, tenant_id: caller.tenantId }, 'contact message received');
  return { id, status: 'received' };
}

/** Registered in a scope behind `authenticate` with API keys. */
export async function submitRoute(app: FastifyInstance, feature: ContactFeature): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/contact', {
    // Per client IP, a budget of its own: a stolen key cannot flood the inbox from one
    // address, and a visitor's sign-ins never use up their contact messages (nor the reverse).
    config: { rateLimit: { tier: 'contact' } },
    // Before validation: a caller without the permission learns nothing about the schema.
    preValidation: requirePermission(feature.access, 'contact:write'),
    schema: {
      summary: 'Send a contact message (name, email, message): stored encrypted, mailed to CONTACT_INBOX by the worker. Needs a Bearer token of a member or admin, or an API key with `contact:write`. Limited per client IP (`RATE_LIMIT_CONTACT_PER_MIN`).',
      tags: ['contact'],
      security: bearerOrApiKey,
      body: ContactSubmissionSchema,
      response: { 202: ContactReceiptSchema },
    },
  }, async (request, reply) => {
    const receipt = await receiveContactMessage(feature, callerOf(request), request.body, { correlationId: String(request.id), logger: request.log });
    return reply.code(202).header('cache-control', 'no-store').send(receipt);
  });
}
