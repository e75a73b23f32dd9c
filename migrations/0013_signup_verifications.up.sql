-- Sign-ups waiting for their address to be confirmed (SIGNUP_EMAIL_VERIFICATION=required).
-- No tenant or user exists until the mailed token comes back, so an unconfirmed sign-up
-- cannot sign in and looks, to everyone else, like no account at all. The address is
-- AES-256-GCM ciphertext plus the keyed lookup hash, as in `users`; the token is stored as
-- its SHA-256 only (256 random bits: a slow hash adds nothing), set by the job that mails it.
create table signup_verifications (
  id uuid primary key default gen_random_uuid(),
  email_hash text not null,
  email_encrypted text not null,
  password_hash text not null,
  token_hash text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);

create unique index signup_verifications_token_hash_key on signup_verifications (token_hash);
create index signup_verifications_email_hash_idx on signup_verifications (email_hash);
create index signup_verifications_expires_at_idx on signup_verifications (expires_at);
