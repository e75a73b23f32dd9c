drop table signup_verifications;
