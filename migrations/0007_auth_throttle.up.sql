-- Brute-force counters, shared by every instance: failed sign-ins, MFA codes and reset
-- tokens per (scope, subject). `subject` is never a raw email: account scopes hold a keyed
-- hash of the normalised address or a user id, IP scopes the client address as text. Rows
-- for unknown accounts are kept too, so a lock never tells whether an account exists.
create table auth_throttle (
  scope text not null,
  subject text not null,
  failures integer not null default 0,
  last_failure_at timestamptz not null default now(),
  primary key (scope, subject)
);

-- For pruning counters that have decayed.
create index auth_throttle_last_failure_at_idx on auth_throttle (last_failure_at);
