import { isUuid } from '../../platform/db/uuid.js';

/** Where a document's bytes are stored: `<tenant id>/<document id>`. */
export const documentStorageKey = (tenantId: string, documentId: string): string => `${tenantId}/${documentId}`;

/** Whether `key` has a document's shape: nothing else in a (possibly shared) store is ours to delete. */
export function isDocumentKey(key: string): boolean {
  const [tenant, document, extra] = key.split('/');
  return extra === undefined && isUuid(tenant) && isUuid(document);
}
