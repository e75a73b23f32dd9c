-- Contact messages (seed 003): what a tenant's site visitors send through POST /v1/contact.
-- Name, email and message are personal data (SEC-6): AES-256-GCM ciphertext written by the
-- application (`fe1.<kid>.…`, bound to this table, the row id and the column), so the id is
-- chosen by the application before the insert. `seq` orders the admin listing and is its
-- cursor: created_at alone ties, and a JavaScript Date drops its microseconds.
create table contact_messages (
  id uuid primary key,
  seq bigint generated always as identity,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name_encrypted text not null,
  email_encrypted text not null,
  message_encrypted text not null,
  -- Who sent it: a user id (local uuid or `oidc:<subject>`) or an API key id; no foreign key,
  -- so a message outlives the user or key that submitted it.
  submitter_kind text not null check (submitter_kind in ('user', 'api_key')),
  submitter_id text not null,
  correlation_id text,
  created_at timestamptz not null default now()
);

-- The admin listing: one tenant, newest first, a page at a time.
create index contact_messages_tenant_seq_idx on contact_messages (tenant_id, seq desc);
