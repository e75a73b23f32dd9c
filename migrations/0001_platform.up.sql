-- Workers upsert their row every few seconds; readiness and ops list the fresh ones.
create table worker_heartbeats (
  worker_id text primary key,
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);

-- "Which workers reported recently" and pruning stale rows both range-scan this column.
create index worker_heartbeats_last_seen_at_idx on worker_heartbeats (last_seen_at);
