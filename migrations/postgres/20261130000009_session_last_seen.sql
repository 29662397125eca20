-- The scheduled purge finds idle sessions by their last activity.
create index user_session_last_seen_idx on user_session (last_seen_at);
create index console_session_last_seen_idx on console_session (last_seen_at);
