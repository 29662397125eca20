-- Failed logins by email, for every email tried, known or not: the lockout
-- answers alike for both, and an attempt is counted before the slow
-- password check, so parallel guesses cannot get past the limit.
create table login_attempt (
    email text not null,
    failed_logins bigint not null,
    locked_until bigint,
    updated_at bigint not null,
    constraint login_attempt_pk primary key (email)
);

create index login_attempt_updated_idx on login_attempt (updated_at);
