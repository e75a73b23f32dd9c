-- Leader election and scheduled work shared by every instance.

-- One row per elected role. The holder renews before expires_at (the database clock decides,
-- never an instance's own). fencing_token only grows: it moves on every change of holder, and
-- a released lease keeps its row so the next holder's token is still higher.
create table leader_leases (
  name text primary key,
  holder text not null,
  fencing_token bigint not null,
  expires_at timestamptz not null
);

-- One row per job and tick that was claimed: the primary key is what makes a tick run at
-- most once, across failovers and paused leaders alike.
create table scheduled_runs (
  job text not null,
  tick timestamptz not null,
  fencing_token bigint not null,
  ran_by text not null,
  primary key (job, tick)
);
