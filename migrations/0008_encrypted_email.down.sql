-- Only the application can decrypt (the key lives in the secrets provider): refuse rather
-- than drop the only copy of an address.
do $$
begin
  if exists (select 1 from users where email is null) then
    raise exception 'users holds encrypted email addresses that SQL cannot decrypt; restore the backup taken before 0008 instead of reverting it';
  end if;
end
$$;
drop index users_email_key_id_idx;
drop index users_tenant_email_hash_key;
drop index users_email_hash_key;
alter table users drop constraint users_email_present;
alter table users alter column email set not null;
alter table users drop column email_encrypted;
alter table users drop column email_hash;
