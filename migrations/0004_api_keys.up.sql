-- API keys: long-lived credentials for machines, scoped and owned by a tenant. Only the
-- HMAC-SHA-256 of a key (under a server-side pepper) is stored; a database dump yields
-- nothing usable. A rotated key's old hash stays in `previous_key_hash` until
-- `previous_key_expires_at` (API_KEY_ROTATION_OVERLAP_S), so clients can switch over.
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  created_by uuid references users (id) on delete set null,
  name text not null,
  prefix text not null,
  scopes jsonb not null,
  key_hash text not null,
  previous_key_hash text,
  previous_key_expires_at timestamptz,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- Every X-API-Key request looks a key up by its hash (current or, during an overlap, previous).
create unique index api_keys_key_hash_key on api_keys (key_hash);
create unique index api_keys_previous_key_hash_key on api_keys (previous_key_hash) where previous_key_hash is not null;
create index api_keys_tenant_id_idx on api_keys (tenant_id);
