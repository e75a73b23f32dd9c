-- The durable job queue (src/platform/queue). One row per job; workers claim rows with
-- FOR UPDATE SKIP LOCKED, so any number of them share the table without stepping on each other.

create table jobs (
  id uuid primary key default gen_random_uuid(),
  type text not null,
  payload jsonb not null default '{}'::jsonb,
  -- queued → active → completed; active → queued again for a retry; dead is the dead-letter queue.
  state text not null default 'queued' check (state in ('queued', 'active', 'completed', 'dead')),
  priority integer not null default 0,
  attempts integer not null default 0,
  max_attempts integer not null check (max_attempts >= 1),
  run_at timestamptz not null default now(),
  idempotency_key text,
  correlation_id text,
  -- The worker holding an active job, and until when: a worker that dies (kill -9) stops
  -- renewing, and any other worker takes the job back once the lease is over.
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

-- Same key, same type: one job, ever (until the completed row is swept by retention).
create unique index jobs_idempotency_key on jobs (type, idempotency_key) where idempotency_key is not null;
-- The claim query: ready jobs by priority, then age.
create index jobs_ready on jobs (priority desc, run_at, id) where state = 'queued';
-- Lease expiry sweep.
create index jobs_active_lease on jobs (locked_until) where state = 'active';
-- Retention sweep of finished jobs and the dead-letter listing.
create index jobs_finished on jobs (state, finished_at) where state in ('completed', 'dead');
