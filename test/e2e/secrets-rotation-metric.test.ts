import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { seriesValue } from '../support/metrics-text.js';
import { send, startRampart } from '../support/rampart-process.js';

vi.setConfig({ testTimeout: 120_000 });

// What `rampart secrets audit` says, exported so that SecretsRotationOverdue can fire without
// anyone running the audit, and read from the process's own database (the audit cannot open
// an embedded database a server holds).
describe('secrets_rotation_overdue on the metrics port', () => {
  it('is 1 for an overdue secret and 0 for a young one, absent when the age is unknown, and never shows a value', async () => {
    const oldKey = `k20200101T000000-abc123:${randomBytes(32).toString('base64url')}`;
    const rampart = await startRampart({ env: { FIELD_ENCRYPTION_KEYS: oldKey } });
    try {
      const text = (await send(rampart.metricsUrl)).body;
      expect(seriesValue(text, 'secrets_rotation_overdue{secret="FIELD_ENCRYPTION_KEYS"}')).toBe(1);
      // Made by this process at its first start: young.
      expect(seriesValue(text, 'secrets_rotation_overdue{secret="jwt-signing-key"}')).toBe(0);
      // No API key exists, so there is no age to judge: no series rather than a reassuring 0.
      expect(text).not.toContain('secret="api-keys"');
      expect(text).not.toContain(oldKey.split(':')[1]);
    } finally {
      await rampart.stop();
    }
  });
});
