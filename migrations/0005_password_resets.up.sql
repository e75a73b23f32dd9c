-- Password resets: one row per "forgot password" mail. Only the SHA-256 of the token is
-- stored (the token carries 256 random bits, so a slow hash adds nothing); a row is
-- single-use (`used_at`) and short-lived (`expires_at`, 30 minutes).
create table password_resets (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);

create unique index password_resets_token_hash_key on password_resets (token_hash);
create index password_resets_user_id_idx on password_resets (user_id);
