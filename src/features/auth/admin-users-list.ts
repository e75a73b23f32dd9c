import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Principal } from './access-tokens.js';
import { AdminUserSchema, adminUserView } from './admin-users-schemas.js';
import { listTenantUsers } from './admin-users-store.js';
import { principalOf } from './authenticate.js';
import type { Identity } from './identity.js';
import { requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';

export const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

/** One page of the caller's tenant's users; `next_cursor` is null on the last page. The route checks `users:read`. */
export async function listUsers(identity: Identity, principal: Principal, page: { limit: number; cursor?: string | undefined }) {
  // One row more than asked says whether another page follows.
  const rows = await listTenantUsers(identity.db, identity.emails, principal.tenantId, { limit: page.limit + 1, after: page.cursor });
  const users = rows.slice(0, page.limit);
  return { users: users.map(adminUserView), next_cursor: rows.length > page.limit ? users.at(-1)!.id : null };
}

/** Registered inside the authenticated scope. */
export async function adminUsersListRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/admin/users', {
    preHandler: requirePermission(identity, 'users:read'),
    schema: {
      summary: 'List the users of your tenant (admin only), a page at a time.',
      tags: ['admin'],
      security: bearerAuth,
      querystring: Type.Object({
        // A pattern, not an integer: query strings are not coerced (server.ts), and 1-100 is easy to spell.
        limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: `Users per page, 1-${MAX_PAGE} (default ${DEFAULT_PAGE}).` })),
        cursor: Type.Optional(Type.String({ format: 'uuid', description: 'The `next_cursor` of the previous page.' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ users: Type.Array(AdminUserSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }) },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { limit, cursor } = request.query;
    return listUsers(identity, principalOf(request), { limit: limit === undefined ? DEFAULT_PAGE : Number(limit), cursor });
  });
}
