-- The W3C traceparent of the request that enqueued a job, so the job's span joins its trace.
alter table jobs add column trace_parent text;
