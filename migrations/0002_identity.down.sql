drop table audit_events;
drop function audit_events_refuse_change();
drop table signing_keys;
drop table refresh_tokens;
drop table sessions;
drop table users;
drop table tenants;
