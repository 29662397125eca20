-- Application users: the callers of the runtime API.
create table app_user (
    app_user_id text not null,
    email text not null,
    name text not null,
    password_hash text not null,
    user_status text not null,
    failed_logins bigint not null default 0,
    locked_until bigint,
    created_at bigint not null,
    updated_at bigint not null,
    constraint app_user_pk primary key (app_user_id),
    constraint app_user_email_key unique (email),
    constraint app_user_status_check check (user_status in ('ENABLED', 'DISABLED'))
);

-- name_key is the lowercase name: role names are unique whatever their case.
create table role (
    role_id text not null,
    name text not null,
    name_key text not null,
    is_system bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    constraint role_pk primary key (role_id),
    constraint role_name_key unique (name_key)
);

insert into role (role_id, name, name_key, is_system, created_at, updated_at) values
    ('SYSTEM-NOTAUTHENTICATEDUSER', 'NotAuthenticatedUser', 'notauthenticateduser', 1, 0, 0),
    ('SYSTEM-AUTHENTICATEDUSER', 'AuthenticatedUser', 'authenticateduser', 1, 0, 0);

create table user_role (
    app_user_id text not null,
    role_id text not null,
    created_at bigint not null,
    constraint user_role_pk primary key (app_user_id, role_id),
    constraint user_role_user_fk foreign key (app_user_id) references app_user (app_user_id) on delete cascade,
    constraint user_role_role_fk foreign key (role_id) references role (role_id) on delete cascade
);

create index user_role_role_idx on user_role (role_id);

-- Services and methods are registered by the server at start.
create table service (
    service_id text not null,
    name text not null,
    description text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint service_pk primary key (service_id),
    constraint service_name_key unique (name)
);

create table service_method (
    service_id text not null,
    name text not null,
    verb text not null,
    description text not null,
    position bigint not null,
    constraint service_method_pk primary key (service_id, name),
    constraint service_method_service_fk foreign key (service_id) references service (service_id) on delete cascade,
    constraint service_method_verb_check check (verb in ('GET', 'POST', 'PUT', 'DELETE'))
);

-- A permission row is a Grant or a Deny; Inherit is the absence of a row.
-- method_name '*' is All Methods.
create table user_permission (
    service_id text not null,
    app_user_id text not null,
    method_name text not null,
    effect text not null,
    updated_at bigint not null,
    constraint user_permission_pk primary key (service_id, app_user_id, method_name),
    constraint user_permission_service_fk foreign key (service_id) references service (service_id) on delete cascade,
    constraint user_permission_user_fk foreign key (app_user_id) references app_user (app_user_id) on delete cascade,
    constraint user_permission_effect_check check (effect in ('grant', 'deny'))
);

create index user_permission_user_idx on user_permission (app_user_id);

create table role_permission (
    service_id text not null,
    role_id text not null,
    method_name text not null,
    effect text not null,
    updated_at bigint not null,
    constraint role_permission_pk primary key (service_id, role_id, method_name),
    constraint role_permission_service_fk foreign key (service_id) references service (service_id) on delete cascade,
    constraint role_permission_role_fk foreign key (role_id) references role (role_id) on delete cascade,
    constraint role_permission_effect_check check (effect in ('grant', 'deny'))
);

create index role_permission_role_idx on role_permission (role_id);

-- Runtime sessions of application users; only the token's SHA-256 is stored.
create table user_session (
    token_hash text not null,
    app_user_id text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    constraint user_session_pk primary key (token_hash),
    constraint user_session_user_fk foreign key (app_user_id) references app_user (app_user_id) on delete cascade
);

create index user_session_user_idx on user_session (app_user_id);

-- Admin API keys for scripts; only the key's SHA-256 is stored.
create table admin_api_key (
    key_hash text not null,
    name text not null,
    console_admin_id text not null,
    created_at bigint not null,
    last_used_at bigint,
    constraint admin_api_key_pk primary key (key_hash),
    constraint admin_api_key_admin_fk foreign key (console_admin_id) references console_admin (console_admin_id) on delete cascade
);

-- Every change: who, when, what, before, after (JSON text).
create table audit_event (
    audit_event_id integer primary key autoincrement,
    created_at bigint not null,
    actor text not null,
    action text not null,
    target text not null,
    service_name text,
    before_state text,
    after_state text
);

create index audit_event_created_idx on audit_event (created_at);
