-- Identity: tenants, their users, sessions with refresh-token families, signing keys and
-- the append-only audit trail.

create table tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

create table users (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  email text not null,
  password_hash text not null,
  role text not null default 'member' check (role in ('admin', 'member', 'viewer')),
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Unique per tenant, case-insensitively. Login names no tenant, so an address also
-- identifies one account across tenants (see docs/decisions.md); the wider index enforces
-- that and serves the login lookup.
create unique index users_tenant_email_key on users (tenant_id, lower(email));
create unique index users_email_key on users (lower(email));

-- One row per sign-in (a device). Its refresh tokens form one family: revoking the
-- session revokes every token descended from that sign-in.
create table sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  tenant_id uuid not null references tenants (id) on delete cascade,
  family_id uuid not null unique default gen_random_uuid(),
  user_agent text,
  ip text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  revoked_at timestamptz
);

create index sessions_user_id_idx on sessions (user_id);

-- Only the SHA-256 of a token is stored; a database dump yields nothing usable.
create table refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null unique,
  session_id uuid not null references sessions (id) on delete cascade,
  family_id uuid not null,
  parent_id uuid references refresh_tokens (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  replaced_by uuid references refresh_tokens (id) on delete set null
);

create index refresh_tokens_session_id_idx on refresh_tokens (session_id);

-- The private key is AES-256-GCM ciphertext under a key derived from APP_SECRET.
create table signing_keys (
  kid text primary key,
  alg text not null,
  public_jwk jsonb not null,
  private_key_encrypted text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

-- No foreign keys: the trail outlives the tenants and users it names.
create table audit_events (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  tenant_id uuid,
  actor_id uuid,
  action text not null,
  ip text,
  user_agent text,
  correlation_id text,
  details jsonb not null default '{}'::jsonb
);

create index audit_events_tenant_at_idx on audit_events (tenant_id, at);

-- Append-only, enforced by the database: an application bug or a stolen application
-- credential cannot rewrite history.
create function audit_events_refuse_change() returns trigger language plpgsql as $$
  begin
    raise exception 'audit_events is append-only (% refused)', tg_op;
  end;
$$;

create trigger audit_events_append_only
  before update or delete on audit_events
  for each row execute function audit_events_refuse_change();

create trigger audit_events_no_truncate
  before truncate on audit_events
  for each statement execute function audit_events_refuse_change();
