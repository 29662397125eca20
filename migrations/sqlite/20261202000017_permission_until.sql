-- Time-limited cells: a Grant or Deny with an end returns to Inherit at
-- `until_at` (milliseconds since the epoch). The runtime honours the end
-- itself, to the call; the server's expirer then deletes the row and
-- audits it as done by the system. Null: no end.
--
-- Additive: an older server reads these cells as lasting for ever:
-- upgrade every server together.
alter table user_permission add column until_at bigint;
alter table role_permission add column until_at bigint;
create index user_permission_until_idx on user_permission (until_at) where until_at is not null;
create index role_permission_until_idx on role_permission (until_at) where until_at is not null;
