-- Several applications (DESIGN section 8). Users, roles and services belong
-- to one application each; names are unique within it. Everything stored so
-- far belongs to the default application. Permission cells, role
-- assignments and sessions belong to an application through their user,
-- role or service, whose ids are unique across the console.
--
-- A breaking step: servers older than this migration cannot write users,
-- roles or services on it, so a rolling deploy across it upgrades every
-- server before admins make changes.
--
-- SQLite cannot change a table's unique keys: app_user, role, service and
-- login_attempt are rebuilt (the server runs migrations with foreign keys
-- off, so dropping a rebuilt table deletes nothing that refers to it).

-- Settings: null follows the server's configuration.
alter table application add column policy_version bigint not null default 0;
alter table application add column session_timeout_secs bigint;
alter table application add column max_failed_logins bigint;
alter table application add column lockout_secs bigint;
alter table application add column registration bigint;

create table app_user_next (
    app_user_id text not null,
    application_id text not null,
    email text not null,
    name text not null,
    password_hash text not null,
    user_status text not null,
    failed_logins bigint not null default 0,
    locked_until bigint,
    created_at bigint not null,
    updated_at bigint not null,
    constraint app_user_pk primary key (app_user_id),
    constraint app_user_email_key unique (application_id, email),
    constraint app_user_application_fk foreign key (application_id)
        references application (application_id) on delete cascade,
    constraint app_user_status_check check (user_status in ('ENABLED', 'DISABLED'))
);
insert into app_user_next (app_user_id, application_id, email, name, password_hash, user_status,
        failed_logins, locked_until, created_at, updated_at)
    select app_user_id, (select application_id from application where is_default = 1), email, name,
        password_hash, user_status, failed_logins, locked_until, created_at, updated_at
    from app_user;
drop table app_user;
alter table app_user_next rename to app_user;

create table role_next (
    role_id text not null,
    application_id text not null,
    name text not null,
    name_key text not null,
    is_system bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    constraint role_pk primary key (role_id),
    constraint role_name_key unique (application_id, name_key),
    constraint role_application_fk foreign key (application_id)
        references application (application_id) on delete cascade
);
insert into role_next (role_id, application_id, name, name_key, is_system, created_at, updated_at)
    select role_id, (select application_id from application where is_default = 1), name, name_key,
        is_system, created_at, updated_at
    from role;
drop table role;
alter table role_next rename to role;

create table service_next (
    service_id text not null,
    application_id text not null,
    name text not null,
    description text not null,
    created_at bigint not null,
    updated_at bigint not null,
    missing bigint not null default 0,
    constraint service_pk primary key (service_id),
    constraint service_name_key unique (application_id, name),
    constraint service_application_fk foreign key (application_id)
        references application (application_id) on delete cascade
);
insert into service_next (service_id, application_id, name, description, created_at, updated_at, missing)
    select service_id, (select application_id from application where is_default = 1), name,
        description, created_at, updated_at, missing
    from service;
drop table service;
alter table service_next rename to service;

create table login_attempt_next (
    application_id text not null,
    email text not null,
    failed_logins bigint not null,
    locked_until bigint,
    updated_at bigint not null,
    constraint login_attempt_pk primary key (application_id, email)
);
insert into login_attempt_next (application_id, email, failed_logins, locked_until, updated_at)
    select (select application_id from application where is_default = 1), email, failed_logins,
        locked_until, updated_at
    from login_attempt;
drop table login_attempt;
alter table login_attempt_next rename to login_attempt;
create index login_attempt_updated_idx on login_attempt (updated_at);

-- The demo `orders` service keeps each application's orders apart.
alter table demo_order add column application_id text;
update demo_order set application_id = (select application_id from application where is_default = 1);
create index demo_order_application_idx on demo_order (application_id, created_at);

-- Console-level events (admin accounts and keys) belong to no application.
alter table audit_event add column application_id text;
update audit_event set application_id = (select application_id from application where is_default = 1)
    where action not like 'admin.%' and action not like 'apikey.%';
create index audit_event_application_idx on audit_event (application_id, created_at);
