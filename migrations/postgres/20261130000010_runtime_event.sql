-- What other servers must forget or read again, in commit order. `seq` is
-- the `sessions` counter of policy_version, moved under its row lock by the
-- change that wrote the event, so events commit in sequence order. Kinds:
-- `token` (one session ended; subject = token hash), `user_sessions` (every
-- session of a user ended; subject = user id), `user` (a user was added or
-- changed; subject = user id).
create table runtime_event (
    seq bigint not null,
    kind text not null,
    subject text not null,
    created_at bigint not null,
    constraint runtime_event_pk primary key (seq, kind, subject)
);

create index runtime_event_created_idx on runtime_event (created_at);
