drop table scheduled_runs;
drop table leader_leases;
