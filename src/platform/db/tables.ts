import type { ColumnType, Generated } from 'kysely';

/**
 * The schema the migrations in `migrations/` produce, table by table.
 * `test/db/tables.test.ts` compares it with the migrated database, so a migration that
 * changes a table must change this file too.
 */
export interface Tables {
  worker_heartbeats: WorkerHeartbeatsTable;
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  api_keys: ApiKeysTable;
  mfa_totp: MfaTotpTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_challenges: MfaChallengesTable;
  password_resets: PasswordResetsTable;
  signup_verifications: SignupVerificationsTable;
  auth_throttle: AuthThrottleTable;
  leader_leases: LeaderLeasesTable;
  scheduled_runs: ScheduledRunsTable;
  jobs: JobsTable;
  contact_messages: ContactMessagesTable;
  documents: DocumentsTable;
}

/** One row per live worker process; a worker whose `last_seen_at` stops moving is gone. */
export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  pid: number;
  started_at: Generated<Date>;
  last_seen_at: Generated<Date>;
}

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
}

export type Role = 'admin' | 'member' | 'viewer';

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  /** Plaintext, only in rows written before migration 0008 and not yet re-encrypted. */
  email: string | null;
  /** Keyed hash of the lower-cased address: lookups and uniqueness. */
  email_hash: string | null;
  /** `fe1.<kid>.<nonce>.<ciphertext>.<tag>` (platform/crypto/field-encryption.ts). */
  email_encrypted: string | null;
  password_hash: string;
  role: Generated<Role>;
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  tenant_id: string;
  family_id: Generated<string>;
  user_agent: string | null;
  ip: string | null;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  token_hash: string;
  session_id: string;
  family_id: string;
  parent_id: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
  replaced_by: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  private_key_encrypted: string;
  created_at: Generated<Date>;
  retired_at: Date | null;
}

export interface AuditEventsTable {
  // bigint: pg returns it as a string.
  id: ColumnType<string, never, never>;
  at: Generated<Date>;
  tenant_id: string | null;
  actor_id: string | null;
  action: string;
  ip: string | null;
  user_agent: string | null;
  correlation_id: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
}

/** A user's authenticator; `activated_at` null means enrolment is pending. */
export interface MfaTotpTable {
  user_id: string;
  secret_encrypted: string;
  created_at: Generated<Date>;
  activated_at: Date | null;
  last_accepted_step: number | null;
}

export interface MfaBackupCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  created_at: Generated<Date>;
}

/** The pending second step of a password login (the `mfa_token`). */
export interface MfaChallengesTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
  failed_attempts: Generated<number>;
  used_at: Date | null;
}

export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  created_by: string | null;
  name: string;
  /** The key's first 12 characters (`rk_live_` + 4): shown in listings, safe to store. */
  prefix: string;
  scopes: ColumnType<string[], string, string>;
  /** `hashApiKey(key, pepper)`; never the key. */
  key_hash: string;
  previous_key_hash: string | null;
  previous_key_expires_at: Date | null;
  created_at: Generated<Date>;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A pending "forgot password" link; `token_hash` is the SHA-256 of the mailed token. */
export interface PasswordResetsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

/** A sign-up waiting for its address to be confirmed; `token_hash` (SHA-256) is set when the link is mailed. */
export interface SignupVerificationsTable {
  id: Generated<string>;
  email_hash: string;
  email_encrypted: string;
  password_hash: string;
  token_hash: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

/** Who holds an elected role until when; `fencing_token` only grows. */
export interface LeaderLeasesTable {
  name: string;
  holder: string;
  // bigint: pg returns a string, PGlite a number; read it through BigInt().
  fencing_token: ColumnType<string | number, string, string>;
  expires_at: Date;
}

/** A claimed (job, tick): the primary key keeps a tick from running twice. */
export interface ScheduledRunsTable {
  job: string;
  tick: Date;
  fencing_token: ColumnType<string | number, string, string>;
  ran_by: string;
}

/** Failed attempts per (scope, subject) for brute-force protection (see features/auth/brute-force.ts). */
export interface AuthThrottleTable {
  scope: string;
  subject: string;
  failures: Generated<number>;
  last_failure_at: Generated<Date>;
}

export type JobState = 'queued' | 'active' | 'completed' | 'dead';

/** The durable job queue (migration 0009, src/platform/queue). */
export interface JobsTable {
  id: Generated<string>;
  type: string;
  payload: ColumnType<object | string | number | boolean, string | undefined, string>;
  state: Generated<JobState>;
  priority: Generated<number>;
  attempts: Generated<number>;
  max_attempts: number;
  run_at: Generated<Date>;
  idempotency_key: string | null;
  correlation_id: string | null;
  /** W3C traceparent of the span that enqueued the job (tracing on), continued by the job's span. */
  trace_parent: string | null;
  locked_by: string | null;
  locked_until: Date | null;
  last_error: string | null;
  created_at: Generated<Date>;
  started_at: Date | null;
  finished_at: Date | null;
}

/** A message sent through POST /v1/contact; the `*_encrypted` columns are `fe1.…` field ciphertext. */
export interface ContactMessagesTable {
  id: string;
  // bigint identity: pg returns a string, PGlite a number; read it through String().
  seq: ColumnType<string | number, never, never>;
  tenant_id: string;
  name_encrypted: string;
  email_encrypted: string;
  message_encrypted: string;
  submitter_kind: 'user' | 'api_key';
  submitter_id: string;
  correlation_id: string | null;
  created_at: Generated<Date>;
}

export type DocumentStatus = 'stored' | 'extracted' | 'extract_failed';

/** An uploaded file (features/documents); its bytes are in object storage under `storage_key`. */
export interface DocumentsTable {
  id: string;
  tenant_id: string;
  uploaded_by_user_id: string | null;
  uploaded_by_api_key_id: string | null;
  original_name: string;
  content_type: string;
  // bigint: pg returns a string, PGlite a number; read it through Number().
  size_bytes: ColumnType<string | number, number, never>;
  sha256: string;
  storage_key: string;
  status: Generated<DocumentStatus>;
  extracted_text: string | null;
  extract_error: string | null;
  /** Generated by PostgreSQL from the name and the extracted text; never written. */
  search: ColumnType<string, undefined, never>;
  created_at: Generated<Date>;
  extracted_at: Date | null;
  deleted_at: Date | null;
}
