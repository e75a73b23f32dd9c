drop table mfa_challenges;
drop table mfa_backup_codes;
drop table mfa_totp;
