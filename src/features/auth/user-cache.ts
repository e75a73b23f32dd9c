import type { Identity } from './identity.js';
import { findUser } from './store.js';

/** The profile `/v1/me` shows, JSON-safe so it can be shared through Redis. */
export interface UserView {
  id: string;
  email: string;
  tenant_id: string;
  role: string;
}

// Changes go through `forgetUser`; the TTL only bounds a change made outside Rampart's routes.
const USER_TTL_MS = 10_000;
const userKey = (id: string) => `user:${id}`;

/** The user's profile through the shared cache (straight from the database when there is none). */
export async function cachedUserView(identity: Pick<Identity, 'db' | 'cache' | 'emails'>, userId: string): Promise<UserView | null> {
  const load = async (): Promise<UserView | null> => {
    const user = await findUser(identity.db, identity.emails, userId);
    return user ? { id: user.id, email: user.email, tenant_id: user.tenant_id, role: user.role } : null;
  };
  return identity.cache ? identity.cache.getOrLoad(userKey(userId), USER_TTL_MS, load) : load();
}

/** Call after changing a user: every instance drops its copy. */
export async function forgetUser(identity: Pick<Identity, 'cache'>, userId: string): Promise<void> {
  await identity.cache?.invalidate(userKey(userId));
}
