drop table auth_throttle;
