-- Email addresses are personal data (SEC-6): stored as AES-256-GCM ciphertext with its key id
-- (`fe1.<kid>.…`, written by the application) and found by a keyed hash of the lower-cased
-- address. SQL cannot encrypt (the key is in the secrets provider), so existing rows keep
-- their plaintext until the leader's re-encryption job moves it into these columns.
alter table users add column email_hash text;
alter table users add column email_encrypted text;
alter table users alter column email drop not null;
alter table users add constraint users_email_present
  check (email is not null or (email_hash is not null and email_encrypted is not null));
create unique index users_email_hash_key on users (email_hash);
create unique index users_tenant_email_hash_key on users (tenant_id, email_hash);
-- The re-encryption job's batches: rows still in plaintext, or under a key being retired.
create index users_email_key_id_idx on users ((split_part(email_encrypted, '.', 2)));
