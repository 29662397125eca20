-- Console admins are not application users: they have their own accounts.
create table console_admin (
    console_admin_id text not null,
    email text not null,
    password_hash text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint console_admin_pk primary key (console_admin_id),
    constraint console_admin_email_key unique (email)
);

-- Only the SHA-256 of a session token is stored; the token itself lives in the cookie.
create table console_session (
    token_hash text not null,
    console_admin_id text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    constraint console_session_pk primary key (token_hash),
    constraint console_session_admin_fk foreign key (console_admin_id)
        references console_admin (console_admin_id) on delete cascade
);

create index console_session_admin_idx on console_session (console_admin_id);
