import type { InsertType, SelectType } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/platform/db/migrations.js';
import type { Tables } from '../../src/platform/db/tables.js';
import { databaseTargets, freshDatabasePerTest } from '../support/databases.js';

/** What the migrated database must show for a column; the flags are derived from `Tables`. */
interface Column<T> {
  type: string;
  nullable: null extends SelectType<T> ? true : false;
  hasDefault: undefined extends InsertType<T> ? true : false;
}

type Schema = { [Table in keyof Tables]: { [Name in keyof Tables[Table]]-?: Column<Tables[Table][Name]> } };

// The mapped type forces an entry for every table and column in `Tables` (and no others), with
// nullability and defaults matching its types; the test then holds the migrations to it.
const schema: Schema = {
  worker_heartbeats: {
    worker_id: { type: 'text', nullable: false, hasDefault: false },
    hostname: { type: 'text', nullable: false, hasDefault: false },
    pid: { type: 'int4', nullable: false, hasDefault: false },
    started_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    last_seen_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  tenants: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    name: { type: 'text', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  users: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    tenant_id: { type: 'uuid', nullable: false, hasDefault: false },
    email: { type: 'text', nullable: true, hasDefault: false },
    email_hash: { type: 'text', nullable: true, hasDefault: false },
    email_encrypted: { type: 'text', nullable: true, hasDefault: false },
    password_hash: { type: 'text', nullable: false, hasDefault: false },
    role: { type: 'text', nullable: false, hasDefault: true },
    disabled: { type: 'bool', nullable: false, hasDefault: true },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    updated_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  sessions: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    user_id: { type: 'uuid', nullable: false, hasDefault: false },
    tenant_id: { type: 'uuid', nullable: false, hasDefault: false },
    family_id: { type: 'uuid', nullable: false, hasDefault: true },
    user_agent: { type: 'text', nullable: true, hasDefault: false },
    ip: { type: 'text', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    last_seen_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    revoked_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  refresh_tokens: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    token_hash: { type: 'text', nullable: false, hasDefault: false },
    session_id: { type: 'uuid', nullable: false, hasDefault: false },
    family_id: { type: 'uuid', nullable: false, hasDefault: false },
    parent_id: { type: 'uuid', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    expires_at: { type: 'timestamptz', nullable: false, hasDefault: false },
    used_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    replaced_by: { type: 'uuid', nullable: true, hasDefault: false },
  },
  signing_keys: {
    kid: { type: 'text', nullable: false, hasDefault: false },
    alg: { type: 'text', nullable: false, hasDefault: false },
    public_jwk: { type: 'jsonb', nullable: false, hasDefault: false },
    private_key_encrypted: { type: 'text', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    retired_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  audit_events: {
    id: { type: 'int8', nullable: false, hasDefault: false },
    at: { type: 'timestamptz', nullable: false, hasDefault: true },
    tenant_id: { type: 'uuid', nullable: true, hasDefault: false },
    actor_id: { type: 'uuid', nullable: true, hasDefault: false },
    action: { type: 'text', nullable: false, hasDefault: false },
    ip: { type: 'text', nullable: true, hasDefault: false },
    user_agent: { type: 'text', nullable: true, hasDefault: false },
    correlation_id: { type: 'text', nullable: true, hasDefault: false },
    details: { type: 'jsonb', nullable: false, hasDefault: true },
  },
  api_keys: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    tenant_id: { type: 'uuid', nullable: false, hasDefault: false },
    created_by: { type: 'uuid', nullable: true, hasDefault: false },
    name: { type: 'text', nullable: false, hasDefault: false },
    prefix: { type: 'text', nullable: false, hasDefault: false },
    scopes: { type: 'jsonb', nullable: false, hasDefault: false },
    key_hash: { type: 'text', nullable: false, hasDefault: false },
    previous_key_hash: { type: 'text', nullable: true, hasDefault: false },
    previous_key_expires_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    expires_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    last_used_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    revoked_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  mfa_totp: {
    user_id: { type: 'uuid', nullable: false, hasDefault: false },
    secret_encrypted: { type: 'text', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    activated_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    last_accepted_step: { type: 'int4', nullable: true, hasDefault: false },
  },
  mfa_backup_codes: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    user_id: { type: 'uuid', nullable: false, hasDefault: false },
    code_hash: { type: 'text', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  mfa_challenges: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    token_hash: { type: 'text', nullable: false, hasDefault: false },
    user_id: { type: 'uuid', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    expires_at: { type: 'timestamptz', nullable: false, hasDefault: false },
    failed_attempts: { type: 'int4', nullable: false, hasDefault: true },
    used_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  auth_throttle: {
    scope: { type: 'text', nullable: false, hasDefault: false },
    subject: { type: 'text', nullable: false, hasDefault: false },
    failures: { type: 'int4', nullable: false, hasDefault: true },
    last_failure_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  password_resets: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    token_hash: { type: 'text', nullable: false, hasDefault: false },
    user_id: { type: 'uuid', nullable: false, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    expires_at: { type: 'timestamptz', nullable: false, hasDefault: false },
    used_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  signup_verifications: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    email_hash: { type: 'text', nullable: false, hasDefault: false },
    email_encrypted: { type: 'text', nullable: false, hasDefault: false },
    password_hash: { type: 'text', nullable: false, hasDefault: false },
    token_hash: { type: 'text', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    expires_at: { type: 'timestamptz', nullable: false, hasDefault: false },
    used_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  leader_leases: {
    name: { type: 'text', nullable: false, hasDefault: false },
    holder: { type: 'text', nullable: false, hasDefault: false },
    fencing_token: { type: 'int8', nullable: false, hasDefault: false },
    expires_at: { type: 'timestamptz', nullable: false, hasDefault: false },
  },
  scheduled_runs: {
    job: { type: 'text', nullable: false, hasDefault: false },
    tick: { type: 'timestamptz', nullable: false, hasDefault: false },
    fencing_token: { type: 'int8', nullable: false, hasDefault: false },
    ran_by: { type: 'text', nullable: false, hasDefault: false },
  },
  jobs: {
    id: { type: 'uuid', nullable: false, hasDefault: true },
    type: { type: 'text', nullable: false, hasDefault: false },
    payload: { type: 'jsonb', nullable: false, hasDefault: true },
    state: { type: 'text', nullable: false, hasDefault: true },
    priority: { type: 'int4', nullable: false, hasDefault: true },
    attempts: { type: 'int4', nullable: false, hasDefault: true },
    max_attempts: { type: 'int4', nullable: false, hasDefault: false },
    run_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    idempotency_key: { type: 'text', nullable: true, hasDefault: false },
    correlation_id: { type: 'text', nullable: true, hasDefault: false },
    trace_parent: { type: 'text', nullable: true, hasDefault: false },
    locked_by: { type: 'text', nullable: true, hasDefault: false },
    locked_until: { type: 'timestamptz', nullable: true, hasDefault: false },
    last_error: { type: 'text', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    started_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    finished_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
  contact_messages: {
    id: { type: 'uuid', nullable: false, hasDefault: false },
    seq: { type: 'int8', nullable: false, hasDefault: false },
    tenant_id: { type: 'uuid', nullable: false, hasDefault: false },
    name_encrypted: { type: 'text', nullable: false, hasDefault: false },
    email_encrypted: { type: 'text', nullable: false, hasDefault: false },
    message_encrypted: { type: 'text', nullable: false, hasDefault: false },
    submitter_kind: { type: 'text', nullable: false, hasDefault: false },
    submitter_id: { type: 'text', nullable: false, hasDefault: false },
    correlation_id: { type: 'text', nullable: true, hasDefault: false },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
  documents: {
    id: { type: 'uuid', nullable: false, hasDefault: false },
    tenant_id: { type: 'uuid', nullable: false, hasDefault: false },
    uploaded_by_user_id: { type: 'uuid', nullable: true, hasDefault: false },
    uploaded_by_api_key_id: { type: 'uuid', nullable: true, hasDefault: false },
    original_name: { type: 'text', nullable: false, hasDefault: false },
    content_type: { type: 'text', nullable: false, hasDefault: false },
    size_bytes: { type: 'int8', nullable: false, hasDefault: false },
    sha256: { type: 'text', nullable: false, hasDefault: false },
    storage_key: { type: 'text', nullable: false, hasDefault: false },
    status: { type: 'text', nullable: false, hasDefault: true },
    extracted_text: { type: 'text', nullable: true, hasDefault: false },
    extract_error: { type: 'text', nullable: true, hasDefault: false },
    search: { type: 'tsvector', nullable: false, hasDefault: true },
    created_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    extracted_at: { type: 'timestamptz', nullable: true, hasDefault: false },
    deleted_at: { type: 'timestamptz', nullable: true, hasDefault: false },
  },
};

describe.each(databaseTargets())('Tables on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('describes exactly the tables and columns the migrations create', async () => {
    await migrateUp(fresh.handle);

    const tables = await fresh.handle.db.introspection.getTables();
    const actual = Object.fromEntries(
      tables.map((table) => [
        table.name,
        Object.fromEntries(
          table.columns.map((c) => [c.name, { type: c.dataType, nullable: c.isNullable, hasDefault: c.hasDefaultValue }]),
        ),
      ]),
    );
    expect(actual).toEqual(schema);
  });
});
