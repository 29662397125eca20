-- Services of a team's own (DESIGN section 9): a service is built in (the
-- server's Rust code) or an HTTP upstream with a base URL, a timeout and a
-- signing secret. Methods get a route (a path template; null: `/` and the
-- method name), their parameters and request body schema (JSON), and PATCH.
--
-- Additive for older servers: they read built-in services as before and
-- see an upstream's methods as methods; a PATCH method reads as POST there.
--
-- The secret is stored as is: the gateway signs with it on every call.

alter table service add column kind text not null default 'builtin'
    constraint service_kind_check check (kind in ('builtin', 'http'));
alter table service add column base_url text;
alter table service add column timeout_ms bigint;
alter table service add column secret text;
-- "new methods start denied for NotAuthenticatedUser"
alter table service add column new_methods_deny_anonymous bigint not null default 0;

-- SQLite changes a check constraint only by rebuilding the table; nothing
-- refers to service_method.
create table service_method_next (
    service_id text not null,
    name text not null,
    verb text not null,
    description text not null,
    position bigint not null,
    example text not null default '{}',
    missing bigint not null default 0,
    route text,
    params text not null default '[]',
    body_schema text,
    constraint service_method_pk primary key (service_id, name),
    constraint service_method_service_fk foreign key (service_id) references service (service_id) on delete cascade,
    constraint service_method_verb_check check (verb in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'))
);
insert into service_method_next (service_id, name, verb, description, position, example, missing)
    select service_id, name, verb, description, position, example, missing from service_method;
drop table service_method;
alter table service_method_next rename to service_method;
