alter table jobs drop column trace_parent;
