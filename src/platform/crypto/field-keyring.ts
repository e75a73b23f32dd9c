/**
 * The field-encryption keys (FIELD_ENCRYPTION_KEYS: `kid:base64url`, newest first). The
 * first encrypts; every listed key decrypts, so rows written before a rotation still open.
 * `replace` swaps the set at run time when the secrets chain delivers a rotated value.
 */
export interface FieldKeyring {
  currentKid(): string;
  key(kid: string): Buffer | undefined;
  kids(): string[];
  replace(serialised: string): void;
}

export function parseFieldKeys(serialised: string): Array<{ kid: string; key: Buffer }> {
  const entries = serialised.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const [kid, encoded] = entry.split(':');
    const key = Buffer.from(encoded ?? '', 'base64url');
    if (!kid || key.length !== 32) throw new Error('FIELD_ENCRYPTION_KEYS: every entry must be kid:base64url of 32 bytes');
    return { kid, key };
  });
  if (entries.length === 0) throw new Error('FIELD_ENCRYPTION_KEYS: at least one key is required');
  return entries;
}

export function createFieldKeyring(serialised: string): FieldKeyring {
  let entries = parseFieldKeys(serialised);
  let byKid = new Map(entries.map((e) => [e.kid, e.key]));
  return {
    currentKid: () => entries[0]!.kid,
    key: (kid) => byKid.get(kid),
    kids: () => entries.map((e) => e.kid),
    replace(next) {
      // Parsed before anything is swapped: a malformed value keeps the keys in use.
      const parsed = parseFieldKeys(next);
      entries = parsed;
      byKid = new Map(parsed.map((e) => [e.kid, e.key]));
    },
  };
}
