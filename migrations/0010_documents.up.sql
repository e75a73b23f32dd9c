-- Documents: uploaded files, their metadata and their extracted text. The bytes live in object
-- storage under `storage_key` (`<tenant>/<uuid>`, never derived from the file name).
create table documents (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- Who uploaded it: a user, or an API key (both null for a token of an external identity provider).
  uploaded_by_user_id uuid references users (id) on delete set null,
  uploaded_by_api_key_id uuid references api_keys (id) on delete set null,
  -- Sanitised base name, for display and Content-Disposition only; never a path.
  original_name text not null,
  -- Sniffed from the bytes (plus the extension for text), never taken from the client.
  content_type text not null,
  size_bytes bigint not null check (size_bytes >= 0),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  storage_key text not null unique,
  status text not null default 'stored' check (status in ('stored', 'extracted', 'extract_failed')),
  extracted_text text,
  extract_error text,
  -- Kept by PostgreSQL itself: the name weighs more than the body, so a match in the name ranks
  -- first. The name's separators become spaces, or the parser would read `q3-report.pdf` as one
  -- file-name token and find it by none of its words.
  search tsvector not null generated always as (
    setweight(to_tsvector('english', translate(original_name, '-_.', '   ')), 'A') || setweight(to_tsvector('english', coalesce(extracted_text, '')), 'B')
  ) stored,
  created_at timestamptz not null default now(),
  extracted_at timestamptz,
  deleted_at timestamptz
);

-- Listing a tenant's live documents, newest first.
create index documents_tenant_created_idx on documents (tenant_id, created_at desc, id) where deleted_at is null;
-- Full-text search.
create index documents_search_idx on documents using gin (search);
-- The purge job finds documents deleted longer ago than the retention.
create index documents_deleted_at_idx on documents (deleted_at) where deleted_at is not null;
