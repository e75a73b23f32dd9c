-- TOTP multi-factor authentication: one authenticator per user, its backup codes, and the
-- short-lived challenges that stand between a correct password and a session.

-- The secret is AES-256-GCM ciphertext under a key derived from APP_SECRET, bound to the
-- user id. A row with activated_at null is a pending enrolment: MFA is not on until a code
-- from the app proves it was scanned. last_accepted_step (a 30 s TOTP step) refuses replays;
-- integer steps last until the year 4011.
create table mfa_totp (
  user_id uuid primary key references users (id) on delete cascade,
  secret_encrypted text not null,
  created_at timestamptz not null default now(),
  activated_at timestamptz,
  last_accepted_step integer
);

-- Only the SHA-256 of each code (125 bits of entropy; ASVS 6.5.2); a used code is deleted.
create table mfa_backup_codes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  code_hash text not null,
  created_at timestamptz not null default now(),
  unique (user_id, code_hash)
);

-- The mfa_token returned by a password login: 256 random bits, only the SHA-256 stored,
-- five minutes, single use. A few wrong codes burn it.
create table mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null unique,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  failed_attempts integer not null default 0,
  used_at timestamptz
);

create index mfa_challenges_user_id_idx on mfa_challenges (user_id);
