import { createHmac, hkdfSync } from 'node:crypto';

/**
 * A keyed hash for finding and de-duplicating an encrypted value (equality only). Its key is
 * derived from APP_SECRET, not from the encryption keys: rotating those must not change
 * every stored hash.
 */
export function createLookupHasher(appSecret: string, purpose: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', appSecret, 'rampart', `lookup-hash/${purpose}`, 32));
  return (value) => createHmac('sha256', key).update(value).digest('base64url');
}
