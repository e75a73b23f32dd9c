import { describe, expect, it } from 'vitest';
import { ageOf, fieldKeyCreatedAt, formatAudit } from './secret-ages.js';

const policy = { jwtDays: 90, encryptionKeyDays: 180, apiKeyDays: 180, databasePasswordDays: 90 };
const now = new Date('2026-12-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);

describe('secret ages against policy', () => {
  it('flags a JWT key older than 90 days and passes a younger encryption key', () => {
    expect(ageOf({ name: 'jwt-signing-key', source: 'database', version: 'kid1', changedAt: daysAgo(91) }, policy, now)).toMatchObject({ age_days: 91, policy_days: 90, overdue: true });
    expect(ageOf({ name: 'FIELD_ENCRYPTION_KEYS', source: 'ssm', version: '3', changedAt: daysAgo(179) }, policy, now)).toMatchObject({ policy_days: 180, overdue: false });
    expect(ageOf({ name: 'DATABASE_PASSWORD', source: 'secretsmanager', changedAt: daysAgo(90) }, policy, now).overdue).toBe(false);
  });

  it('says "unknown" rather than guessing when a provider gives no change time, and has no policy for other secrets', () => {
    expect(ageOf({ name: 'APP_SECRET', source: 'env' }, policy, now)).toMatchObject({ age_days: null, overdue: null });
    expect(ageOf({ name: 'DOCS_PASSWORD', source: 'ssm', changedAt: daysAgo(999) }, policy, now)).toMatchObject({ policy_days: null, overdue: null });
  });

  it('dates a field-encryption key by its kid', () => {
    expect(fieldKeyCreatedAt('k20260102T030405-a1b2c3:AAAA,old:BBBB')).toEqual({ kid: 'k20260102T030405-a1b2c3', createdAt: new Date('2026-01-02T03:04:05Z') });
    expect(fieldKeyCreatedAt('custom:AAAA').createdAt).toBeUndefined();
  });

  it('prints a table with OVERDUE marked', () => {
    const text = formatAudit([ageOf({ name: 'jwt-signing-key', source: 'database', version: 'kid1', changedAt: daysAgo(100) }, policy, now)]);
    expect(text.split('\n')[0]).toMatch(/^SECRET\s+SOURCE\s+VERSION\s+CHANGED\s+AGE\s+POLICY\s+STATUS$/);
    expect(text).toMatch(/jwt-signing-key\s+database\s+kid1\s+2026-08-23\s+100 d\s+90 d\s+OVERDUE/);
  });

  it('says that a previous generation exists, by stage and version, never its value', () => {
    const previous = { value: 'old-db-pass', stage: 'AWSPREVIOUS', version: 'v-old' };
    const row = ageOf({ name: 'DATABASE_PASSWORD', source: 'secretsmanager', version: 'v-new', changedAt: daysAgo(3), previous }, policy, now);
    expect(row.previous).toEqual({ stage: 'AWSPREVIOUS', version: 'v-old' });
    expect(JSON.stringify(row)).not.toContain('old-db-pass');
    const text = formatAudit([row]);
    expect(text).toMatch(/DATABASE_PASSWORD\s+secretsmanager\s+v-new \+AWSPREVIOUS\s/);
    expect(text).not.toContain('old-db-pass');
  });
});
