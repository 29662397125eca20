-- Several servers may share one database: each polls these counters and
-- reloads its in-memory snapshot (policy) or drops its session cache
-- (sessions) when another server has changed them.
create table policy_version (
    policy_version_id bigint not null,
    policy bigint not null,
    sessions bigint not null,
    constraint policy_version_pk primary key (policy_version_id)
);

insert into policy_version (policy_version_id, policy, sessions) values (1, 0, 0);
