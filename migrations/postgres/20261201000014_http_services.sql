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

alter table service_method add column route text;
alter table service_method add column params text not null default '[]';
alter table service_method add column body_schema text;
alter table service_method drop constraint service_method_verb_check;
alter table service_method add constraint service_method_verb_check
    check (verb in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'));
