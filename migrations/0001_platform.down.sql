drop table worker_heartbeats;
