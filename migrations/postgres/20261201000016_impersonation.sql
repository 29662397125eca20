-- Invoking as a user without their password: an admin gets a short-lived
-- session of the user. It ends at `expires_at` whatever its activity, is
-- marked with who issued it (`admin:<email>` or `key:<name>`) so every
-- call made with it is audited as impersonated, and, when issued from a
-- console session, ends with that session (`console_session` holds its
-- token's hash).
--
-- Additive: an older server reads these sessions as ordinary ones (and
-- would let one live past `expires_at`): upgrade every server together.
alter table user_session add column expires_at bigint;
alter table user_session add column impersonated_by text;
alter table user_session add column console_session text;
create index user_session_console_idx on user_session (console_session);
